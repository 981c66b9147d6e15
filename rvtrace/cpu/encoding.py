"""The instruction encodings, as data: one line per instruction (decodetree style).

Everything that knows how an instruction is laid out in bits reads this file:
the decoder (`decode.py`), and through it the executor and block translator
(`translate.py`), the tests that walk the table, and the disassembly checks
against capstone.

Three small languages are used below.

FIELDS -- how an operand is assembled from scattered bits. A field is a list of
`hi:lo` bit ranges, concatenated most significant first, optionally followed by
`s` (sign-extend the result), `<<n` (shift left by n) and `+n` (add n: the
3-bit register fields of compressed instructions name x8..x15). For example the
B-type branch offset is bit 31, bit 7, bits 30..25, bits 11..8, sign-extended,
shifted left one: `31:31 7:7 30:25 11:8 s <<1`.

FORMATS -- which fields an instruction format has: `name: operand=field ...`.
Operand names ending in `p` (`rdp`, `rs1p`) are compressed-only.

INSTRUCTIONS -- `name  pattern  format  [constraints]`. The pattern lists the
instruction's bits, most significant first: `0`/`1` are fixed bits, `.` are
operand bits (spaces are only for reading). 32-bit patterns have 32 bits,
compressed ones 16. Constraints like `rd!=0` or `imm!=0` mark encodings the
specification reserves; such a word is illegal.

Lines are tried in order: a line may be a special case of a later, more
general one (fence.tso before fence, c.nop before c.addi).

COMPRESSED -- each compressed line ends with `=> name op=value ...`: the 32-bit
instruction it expands to. Values are operand names of the compressed format
or numbers. The executor only ever sees the expansion; the compressed name is
kept for disassembly.
"""

FIELDS = """
rd      11:7
rs1     19:15
rs2     24:20
imm_i   31:20 s
imm_s   31:25 11:7 s
imm_b   31:31 7:7 30:25 11:8 s <<1
imm_u   31:12 s <<12
imm_j   31:31 19:12 20:20 30:21 s <<1
shamt   25:20
shamtw  24:20
csr     31:20
zimm    19:15
pred    27:24
succ    23:20
fm      31:28
aq      26:26
rl      25:25
c_rd    11:7
c_rs2   6:2
c_rdp   4:2 +8
c_rs1p  9:7 +8
c_imm6     12:12 6:2 s
c_uimm6    12:12 6:2
c_addi16sp 12:12 4:3 5:5 2:2 6:6 s <<4
c_lui      12:12 6:2 s <<12
c_addi4spn 10:7 12:11 5:5 6:6 <<2
c_lw_off   5:5 12:10 6:6 <<2
c_ld_off   6:5 12:10 <<3
c_lwsp_off 3:2 12:12 6:4 <<2
c_ldsp_off 4:2 12:12 6:5 <<3
c_swsp_off 8:7 12:9 <<2
c_sdsp_off 9:7 12:10 <<3
c_j_off    12:12 8:8 10:9 6:6 7:7 2:2 11:11 5:3 s <<1
c_b_off    12:12 6:5 2:2 11:10 4:3 s <<1
"""

FORMATS = """
R:      rd=rd rs1=rs1 rs2=rs2
I:      rd=rd rs1=rs1 imm=imm_i
S:      rs1=rs1 rs2=rs2 imm=imm_s
B:      rs1=rs1 rs2=rs2 imm=imm_b
U:      rd=rd imm=imm_u
J:      rd=rd imm=imm_j
SH:     rd=rd rs1=rs1 imm=shamt
SHW:    rd=rd rs1=rs1 imm=shamtw
CSR:    rd=rd rs1=rs1 csr=csr
CSRI:   rd=rd imm=zimm csr=csr
AMO:    rd=rd rs1=rs1 rs2=rs2 aq=aq rl=rl
LR:     rd=rd rs1=rs1 aq=aq rl=rl
FENCE:  pred=pred succ=succ fm=fm
SFENCE: rs1=rs1 rs2=rs2
NONE:
"""

INSTRUCTIONS = """
# RV64I
lui        .................... ..... 0110111  U
auipc      .................... ..... 0010111  U
jal        .................... ..... 1101111  J
jalr       ............ ..... 000 ..... 1100111  I
beq        ....... ..... ..... 000 ..... 1100011  B
bne        ....... ..... ..... 001 ..... 1100011  B
blt        ....... ..... ..... 100 ..... 1100011  B
bge        ....... ..... ..... 101 ..... 1100011  B
bltu       ....... ..... ..... 110 ..... 1100011  B
bgeu       ....... ..... ..... 111 ..... 1100011  B
lb         ............ ..... 000 ..... 0000011  I
lh         ............ ..... 001 ..... 0000011  I
lw         ............ ..... 010 ..... 0000011  I
ld         ............ ..... 011 ..... 0000011  I
lbu        ............ ..... 100 ..... 0000011  I
lhu        ............ ..... 101 ..... 0000011  I
lwu        ............ ..... 110 ..... 0000011  I
sb         ....... ..... ..... 000 ..... 0100011  S
sh         ....... ..... ..... 001 ..... 0100011  S
sw         ....... ..... ..... 010 ..... 0100011  S
sd         ....... ..... ..... 011 ..... 0100011  S
addi       ............ ..... 000 ..... 0010011  I
slti       ............ ..... 010 ..... 0010011  I
sltiu      ............ ..... 011 ..... 0010011  I
xori       ............ ..... 100 ..... 0010011  I
ori        ............ ..... 110 ..... 0010011  I
andi       ............ ..... 111 ..... 0010011  I
slli       000000 ...... ..... 001 ..... 0010011  SH
srli       000000 ...... ..... 101 ..... 0010011  SH
srai       010000 ...... ..... 101 ..... 0010011  SH
add        0000000 ..... ..... 000 ..... 0110011  R
sub        0100000 ..... ..... 000 ..... 0110011  R
sll        0000000 ..... ..... 001 ..... 0110011  R
slt        0000000 ..... ..... 010 ..... 0110011  R
sltu       0000000 ..... ..... 011 ..... 0110011  R
xor        0000000 ..... ..... 100 ..... 0110011  R
srl        0000000 ..... ..... 101 ..... 0110011  R
sra        0100000 ..... ..... 101 ..... 0110011  R
or         0000000 ..... ..... 110 ..... 0110011  R
and        0000000 ..... ..... 111 ..... 0110011  R
addiw      ............ ..... 000 ..... 0011011  I
slliw      0000000 ..... ..... 001 ..... 0011011  SHW
srliw      0000000 ..... ..... 101 ..... 0011011  SHW
sraiw      0100000 ..... ..... 101 ..... 0011011  SHW
addw       0000000 ..... ..... 000 ..... 0111011  R
subw       0100000 ..... ..... 000 ..... 0111011  R
sllw       0000000 ..... ..... 001 ..... 0111011  R
srlw       0000000 ..... ..... 101 ..... 0111011  R
sraw       0100000 ..... ..... 101 ..... 0111011  R
fence.tso  1000 0011 0011 ..... 000 ..... 0001111  FENCE
fence      .... .... .... ..... 000 ..... 0001111  FENCE
ecall      000000000000 00000 000 00000 1110011  NONE
ebreak     000000000001 00000 000 00000 1110011  NONE
# Zifencei (imm, rs1, rd are reserved and ignored)
fence.i    ............ ..... 001 ..... 0001111  NONE
# privileged
sret       0001000 00010 00000 000 00000 1110011  NONE
mret       0011000 00010 00000 000 00000 1110011  NONE
wfi        0001000 00101 00000 000 00000 1110011  NONE
sfence.vma 0001001 ..... ..... 000 00000 1110011  SFENCE
# Zicsr
csrrw      ............ ..... 001 ..... 1110011  CSR
csrrs      ............ ..... 010 ..... 1110011  CSR
csrrc      ............ ..... 011 ..... 1110011  CSR
csrrwi     ............ ..... 101 ..... 1110011  CSRI
csrrsi     ............ ..... 110 ..... 1110011  CSRI
csrrci     ............ ..... 111 ..... 1110011  CSRI
# M
mul        0000001 ..... ..... 000 ..... 0110011  R
mulh       0000001 ..... ..... 001 ..... 0110011  R
mulhsu     0000001 ..... ..... 010 ..... 0110011  R
mulhu      0000001 ..... ..... 011 ..... 0110011  R
div        0000001 ..... ..... 100 ..... 0110011  R
divu       0000001 ..... ..... 101 ..... 0110011  R
rem        0000001 ..... ..... 110 ..... 0110011  R
remu       0000001 ..... ..... 111 ..... 0110011  R
mulw       0000001 ..... ..... 000 ..... 0111011  R
divw       0000001 ..... ..... 100 ..... 0111011  R
divuw      0000001 ..... ..... 101 ..... 0111011  R
remw       0000001 ..... ..... 110 ..... 0111011  R
remuw      0000001 ..... ..... 111 ..... 0111011  R
# A
lr.w       00010 . . 00000 ..... 010 ..... 0101111  LR
sc.w       00011 . . ..... ..... 010 ..... 0101111  AMO
amoswap.w  00001 . . ..... ..... 010 ..... 0101111  AMO
amoadd.w   00000 . . ..... ..... 010 ..... 0101111  AMO
amoxor.w   00100 . . ..... ..... 010 ..... 0101111  AMO
amoand.w   01100 . . ..... ..... 010 ..... 0101111  AMO
amoor.w    01000 . . ..... ..... 010 ..... 0101111  AMO
amomin.w   10000 . . ..... ..... 010 ..... 0101111  AMO
amomax.w   10100 . . ..... ..... 010 ..... 0101111  AMO
amominu.w  11000 . . ..... ..... 010 ..... 0101111  AMO
amomaxu.w  11100 . . ..... ..... 010 ..... 0101111  AMO
lr.d       00010 . . 00000 ..... 011 ..... 0101111  LR
sc.d       00011 . . ..... ..... 011 ..... 0101111  AMO
amoswap.d  00001 . . ..... ..... 011 ..... 0101111  AMO
amoadd.d   00000 . . ..... ..... 011 ..... 0101111  AMO
amoxor.d   00100 . . ..... ..... 011 ..... 0101111  AMO
amoand.d   01100 . . ..... ..... 011 ..... 0101111  AMO
amoor.d    01000 . . ..... ..... 011 ..... 0101111  AMO
amomin.d   10000 . . ..... ..... 011 ..... 0101111  AMO
amomax.d   10100 . . ..... ..... 011 ..... 0101111  AMO
amominu.d  11000 . . ..... ..... 011 ..... 0101111  AMO
amomaxu.d  11100 . . ..... ..... 011 ..... 0101111  AMO
"""

# Compressed formats: operands named as the expansion will use them.
C_FORMATS = """
CIW:     rdp=c_rdp imm=c_addi4spn
CL_W:    rdp=c_rdp rs1p=c_rs1p imm=c_lw_off
CL_D:    rdp=c_rdp rs1p=c_rs1p imm=c_ld_off
CS_W:    rs2p=c_rdp rs1p=c_rs1p imm=c_lw_off
CS_D:    rs2p=c_rdp rs1p=c_rs1p imm=c_ld_off
CI:      rd=c_rd imm=c_imm6
CI_U:    rd=c_rd imm=c_uimm6
CI_16SP: imm=c_addi16sp
CI_LUI:  rd=c_rd imm=c_lui
CB_SH:   rdp=c_rs1p imm=c_uimm6
CB_I:    rdp=c_rs1p imm=c_imm6
CA:      rdp=c_rs1p rs2p=c_rdp
CJ:      imm=c_j_off
CB:      rs1p=c_rs1p imm=c_b_off
CI_LWSP: rd=c_rd imm=c_lwsp_off
CI_LDSP: rd=c_rd imm=c_ldsp_off
CSS_W:   rs2=c_rs2 imm=c_swsp_off
CSS_D:   rs2=c_rs2 imm=c_sdsp_off
CR:      rd=c_rd rs2=c_rs2
CR1:     rs1=c_rd
C0:
"""

C_INSTRUCTIONS = """
# quadrant 0
c.addi4spn  000 ........ ... 00  CIW      imm!=0     => addi rd=rdp rs1=2 imm=imm
c.lw        010 ... ... .. ... 00  CL_W              => lw rd=rdp rs1=rs1p imm=imm
c.ld        011 ... ... .. ... 00  CL_D              => ld rd=rdp rs1=rs1p imm=imm
c.sw        110 ... ... .. ... 00  CS_W              => sw rs1=rs1p rs2=rs2p imm=imm
c.sd        111 ... ... .. ... 00  CS_D              => sd rs1=rs1p rs2=rs2p imm=imm
# quadrant 1
c.nop       000 0 00000 00000 01   C0                => addi rd=0 rs1=0 imm=0
c.addi      000 . ..... ..... 01   CI                => addi rd=rd rs1=rd imm=imm
c.addiw     001 . ..... ..... 01   CI       rd!=0    => addiw rd=rd rs1=rd imm=imm
c.li        010 . ..... ..... 01   CI                => addi rd=rd rs1=0 imm=imm
c.addi16sp  011 . 00010 ..... 01   CI_16SP  imm!=0   => addi rd=2 rs1=2 imm=imm
c.lui       011 . ..... ..... 01   CI_LUI   imm!=0   => lui rd=rd imm=imm
c.srli      100 . 00 ... ..... 01  CB_SH             => srli rd=rdp rs1=rdp imm=imm
c.srai      100 . 01 ... ..... 01  CB_SH             => srai rd=rdp rs1=rdp imm=imm
c.andi      100 . 10 ... ..... 01  CB_I              => andi rd=rdp rs1=rdp imm=imm
c.sub       100 0 11 ... 00 ... 01 CA                => sub rd=rdp rs1=rdp rs2=rs2p
c.xor       100 0 11 ... 01 ... 01 CA                => xor rd=rdp rs1=rdp rs2=rs2p
c.or        100 0 11 ... 10 ... 01 CA                => or rd=rdp rs1=rdp rs2=rs2p
c.and       100 0 11 ... 11 ... 01 CA                => and rd=rdp rs1=rdp rs2=rs2p
c.subw      100 1 11 ... 00 ... 01 CA                => subw rd=rdp rs1=rdp rs2=rs2p
c.addw      100 1 11 ... 01 ... 01 CA                => addw rd=rdp rs1=rdp rs2=rs2p
c.j         101 ........... 01     CJ                => jal rd=0 imm=imm
c.beqz      110 ... ... ..... 01   CB                => beq rs1=rs1p rs2=0 imm=imm
c.bnez      111 ... ... ..... 01   CB                => bne rs1=rs1p rs2=0 imm=imm
# quadrant 2
c.slli      000 . ..... ..... 10   CI_U              => slli rd=rd rs1=rd imm=imm
c.lwsp      010 . ..... ..... 10   CI_LWSP  rd!=0    => lw rd=rd rs1=2 imm=imm
c.ldsp      011 . ..... ..... 10   CI_LDSP  rd!=0    => ld rd=rd rs1=2 imm=imm
c.jr        100 0 ..... 00000 10   CR1      rs1!=0   => jalr rd=0 rs1=rs1 imm=0
c.mv        100 0 ..... ..... 10   CR       rs2!=0   => add rd=rd rs1=0 rs2=rs2
c.ebreak    100 1 00000 00000 10   C0                => ebreak
c.jalr      100 1 ..... 00000 10   CR1      rs1!=0   => jalr rd=1 rs1=rs1 imm=0
c.add       100 1 ..... ..... 10   CR       rs2!=0   => add rd=rd rs1=rd rs2=rs2
c.swsp      110 ...... ..... 10    CSS_W             => sw rs1=2 rs2=rs2 imm=imm
c.sdsp      111 ...... ..... 10    CSS_D             => sd rs1=2 rs2=rs2 imm=imm
"""
