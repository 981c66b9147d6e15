"""KernelImage and ProcessView on a miniature xv6-shaped kernel (guest/mini.c), DWARF 2 to 5.

The mini kernel is never run: its memory is faked in a bytearray laid out
with the offsets C gives its structs (written here by hand, so the DWARF
reading is checked against something independent of it).
"""

import struct
from pathlib import Path

import pytest

from rvtrace.errors import UserError
from rvtrace.guest.toolchain import compile_elf
from rvtrace.kernel import KernelImage, ProcessView
from rvtrace.kernel.memory import sv39_leaf, sv39_translate, virtual_reader

HERE = Path(__file__).parent / "guest"
RAM = 0x80000000
PROC_SIZE, CPU_SIZE = 184, 128          # struct proc and struct cpu in mini.c, by hand
PID, STATE, CHAN, PARENT, NAME = 24, 4, 8, 32, 168


def build(tmp, name, *flags):
    return compile_elf([HERE / "mini.c", HERE / "mini_asm.S"], tmp / f"{name}.elf", HERE / "mini.ld",
                       extra_flags=["-Wl,--no-gc-sections", *flags])


@pytest.fixture(scope="module")
def elves(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mini")
    out = {f"dwarf{v}": build(tmp, f"d{v}", f"-gdwarf-{v}") for v in (2, 3, 4, 5)}
    out["nodwarf"] = build(tmp, "nodwarf", "-g0")
    out["stripped"] = build(tmp, "stripped", "-g0", "-Wl,--strip-all")
    return out


@pytest.fixture(params=["dwarf2", "dwarf3", "dwarf4", "dwarf5"])
def image(request, elves):
    return KernelImage(elves[request.param])


class FakeMemory:
    """Physical memory: RAM at 0x80000000, reads outside it fail like a bus error would."""

    def __init__(self, size=0x40000):
        self.ram = bytearray(size)

    def read(self, addr, size):
        off = addr - RAM
        if off < 0 or off + size > len(self.ram):
            raise IndexError(f"no memory at {addr:#x}")
        return bytes(self.ram[off:off + size])

    def put(self, addr, fmt, *values):
        struct.pack_into("<" + fmt, self.ram, addr - RAM, *values)


def test_dwarf_versions_are_what_was_asked(elves):
    for v in (2, 3, 4, 5):
        assert KernelImage(elves[f"dwarf{v}"]).dwarf_versions == {v}


def test_struct_layouts_and_enums(image):
    proc = image.struct("proc")
    assert proc.size == PROC_SIZE
    assert (proc.offset("pid"), proc.offset("state"), proc.offset("chan"), proc.offset("parent")) == \
        (PID, STATE, CHAN, PARENT)
    assert proc.members["name"].offset == NAME and proc.members["name"].size == 16
    assert proc.members["context"].size == 14 * 8 and proc.members["parent"].size == 8
    cpu = image.struct("cpu")
    assert cpu.size == CPU_SIZE and cpu.offset("proc") == 0
    assert image.enum("procstate") == {0: "UNUSED", 1: "USED", 2: "SLEEPING", 3: "RUNNABLE",
                                       4: "RUNNING", 5: "ZOMBIE"}
    assert image.struct("nosuch") is None and image.enum("nosuch") is None


def test_symbols_and_functions(image):
    bread = image.address_of("bread")
    assert bread is not None and image.size_of_symbol("proc") == 64 * PROC_SIZE
    assert image.function_at(bread) == ("bread", 0)
    assert image.function_at(bread + 6) == ("bread", 6)
    assert image.describe_pc(image.address_of("exec") + 0x10) == "exec+0x10"
    assert image.function_at(0x10) is None and image.describe_pc(0x10) == "0x10"


def test_assembly_labels(image):
    swtch, sized = image.address_of("swtch"), image.address_of("sized_asm")
    assert image.function_at(swtch) == ("swtch", 0)
    assert image.function_at(swtch + 4) == ("swtch", 4)           # an untyped label runs to the next one
    inner = image.address_of("inner_label")
    assert inner is not None and image.function_at(inner) == ("sized_asm", inner - sized)


def test_source_lines(image):
    lines = (HERE / "mini.c").read_text().splitlines()
    for fn in ("sleep", "bread", "exec"):
        file, line = image.source_line(image.address_of(fn) + 8)
        # Named relative to the checkout: a built ELF holds no path of the host that built it.
        assert file.endswith("mini.c") and not Path(file).is_absolute()
        assert f" {fn}(" in lines[line - 1]
    assert image.source_line(0x10) is None


def fake_stack(image, mem, top):
    """exec -> bread -> sleep, as the frame pointers would leave it; returns (pc, fp) in sleep."""
    fp_exec, fp_bread, fp_sleep = top, top - 16, top - 32
    mem_frames = [  # (fp, saved ra, saved caller fp)
        (fp_sleep, image.address_of("bread") + 0x22, fp_bread),
        (fp_bread, image.address_of("exec") + 0x10, fp_exec),
        (fp_exec, image.address_of("_entry") + 0x12, 0),
    ]
    for fp, ra, prev in mem_frames:
        mem(fp - 16, "QQ", prev, ra)
    return image.address_of("sleep") + 0xc, fp_sleep


def test_backtrace_by_frame_pointers(image):
    mem = FakeMemory()
    pc, fp = fake_stack(image, mem.put, RAM + 0x10000)
    frames = image.backtrace(pc, fp, mem.read)
    assert [f.function for f in frames] == ["sleep", "bread", "exec", "_entry"]
    assert str(frames[1]) == "bread+0x22"
    # A chain that leaves memory stops there instead of failing.
    mem.put(RAM + 0x10000 - 16, "QQ", 0x12345678, image.address_of("_entry") + 0x12)
    assert [f.function for f in image.backtrace(pc, fp, mem.read)] == ["sleep", "bread", "exec", "_entry"]
    assert len(image.backtrace(pc, 0, mem.read)) == 1


def test_backtrace_on_a_kernel_stack_at_a_high_virtual_address(image):
    """Kernel stacks live high in the kernel's page table: read them through Sv39."""
    mem = FakeMemory()
    root, mid, leaf, stack_page = RAM + 0x20000, RAM + 0x21000, RAM + 0x22000, RAM + 0x23000
    kstack = 0x3FFFFFD000                                  # one page below the trampoline, xv6-style
    vpn = [(kstack >> (12 + 9 * i)) & 0x1FF for i in range(3)]
    mem.put(root + vpn[2] * 8, "Q", (mid >> 12) << 10 | 1)
    mem.put(mid + vpn[1] * 8, "Q", (leaf >> 12) << 10 | 1)
    mem.put(leaf + vpn[0] * 8, "Q", (stack_page >> 12) << 10 | 0b111)   # V R W
    satp = 8 << 60 | root >> 12
    assert sv39_translate(mem.read, satp, kstack + 0x123) == stack_page + 0x123
    assert sv39_translate(mem.read, satp, kstack + 0x1000) is None
    assert sv39_leaf(mem.read, satp, kstack) == ((stack_page >> 12) << 10 | 0b111, 0)
    assert sv39_translate(mem.read, 0, 0x80001234) == 0x80001234          # Bare: physical
    vread = virtual_reader(mem.read, satp)

    def put_virtual(va, fmt, *values):
        mem.put(sv39_translate(mem.read, satp, va), fmt, *values)

    pc, fp = fake_stack(image, put_virtual, kstack + 0x1000 - 64)
    assert [f.function for f in image.backtrace(pc, fp, vread)] == ["sleep", "bread", "exec", "_entry"]


def fill_processes(image, mem):
    """pid 1 init sleeping; pid 2 sh running on hart 1 (child of 1); hart 0 idle."""
    procs, cpus = image.address_of("proc"), image.address_of("cpus")
    p1, p2 = procs, procs + 3 * PROC_SIZE
    mem.put(p1 + STATE, "i", 2)
    mem.put(p1 + PID, "i", 1)
    mem.put(p1 + CHAN, "Q", 0x80001234)
    mem.ram[p1 + NAME - RAM:p1 + NAME - RAM + 5] = b"init\0"
    mem.put(p2 + STATE, "i", 4)
    mem.put(p2 + PID, "i", 2)
    mem.put(p2 + PARENT, "Q", p1)
    mem.ram[p2 + NAME - RAM:p2 + NAME - RAM + 16] = b"a-sixteen-char-n"      # no NUL: all 16 bytes
    mem.put(cpus + 1 * CPU_SIZE, "Q", p2)
    return p1, p2


def test_process_view(image):
    mem = FakeMemory()
    p1, p2 = fill_processes(image, mem)
    view = ProcessView(image, mem.read)
    assert view.available and view.reason is None
    assert view.current_pid(0) == 0 and view.current(0) is None
    assert view.current_pid(1) == 2 and view.current_proc_addr(1) == p2
    cur = view.current(1)
    assert (cur.pid, cur.name, cur.state, cur.parent, cur.slot) == (2, "a-sixteen-char-n", "RUNNING", 1, 3)
    procs = view.processes()
    assert [(p.pid, p.name, p.state, p.chan) for p in procs] == \
        [(1, "init", "SLEEPING", 0x80001234), (2, "a-sixteen-char-n", "RUNNING", 0)]
    assert len(view.processes(include_unused=True)) == 64
    assert view.current_pid(8) is None                      # NCPU is 8: no hart 8


def test_backtrace_of_a_sleeping_process_from_its_saved_context(image):
    mem = FakeMemory()
    p1, _ = fill_processes(image, mem)
    pc, fp = fake_stack(image, mem.put, RAM + 0x10000)
    context = p1 + 56                                    # struct context in struct proc
    mem.put(context, "Q", pc)                            # context.ra
    mem.put(context + 16, "Q", fp)                       # context.s0
    view = ProcessView(image, mem.read)
    init = view.processes()[0]
    assert [f.function for f in view.saved_backtrace(init)] == ["sleep", "bread", "exec", "_entry"]
    assert view.saved_backtrace(view.processes()[1]) == []       # no context saved


def test_process_view_survives_bad_pointers(image):
    mem = FakeMemory()
    fill_processes(image, mem)
    mem.put(image.address_of("cpus"), "Q", 0xDEAD0000)    # hart 0 points nowhere
    view = ProcessView(image, mem.read)
    assert view.current(0) is None and view.current_pid(0) is None


def test_degrades_without_dwarf_or_symbols(elves):
    mem = FakeMemory()
    nodwarf = KernelImage(elves["nodwarf"])
    assert nodwarf.has_symbols and not nodwarf.has_dwarf and nodwarf.struct("proc") is None
    assert nodwarf.function_at(nodwarf.address_of("bread")) == ("bread", 0)
    assert nodwarf.source_line(nodwarf.address_of("bread")) is None
    view = ProcessView(nodwarf, mem.read)
    assert not view.available and "DWARF" in view.reason and "satp" in view.reason
    assert view.current_pid(0) is None and view.processes() == []

    stripped = KernelImage(elves["stripped"])
    assert not stripped.has_symbols and stripped.function_at(RAM) is None
    assert "symbol table" in ProcessView(stripped, mem.read).reason
    assert "no kernel" in ProcessView(None, mem.read).reason


def test_bad_kernel_files(tmp_path):
    with pytest.raises(UserError, match="cannot read the kernel"):
        KernelImage(tmp_path / "missing.elf")
    (tmp_path / "junk").write_bytes(b"not an elf at all")
    with pytest.raises(UserError, match="not a readable ELF"):
        KernelImage(tmp_path / "junk")


def test_image_from_bytes_as_stored_in_a_trace(elves):
    k = KernelImage(elves["dwarf5"].read_bytes())
    assert k.struct("proc").size == PROC_SIZE


def test_fault_resolution_from_ptes():
    from rvtrace.kernel.memory import fault_resolution
    from rvtrace.trace.events import RESOLUTIONS
    ro, rw = 0b1011011, 0b1011111            # V R X U A, and the same with W
    frame = lambda ppn, bits: ppn << 10 | bits
    assert fault_resolution(frame(5, ro), frame(9, rw)) == "cow-copy"
    assert fault_resolution(frame(5, ro), frame(5, rw)) == "cow-reuse"
    assert fault_resolution(None, frame(7, rw)) == "lazy-alloc"
    assert fault_resolution(0, frame(7, rw)) == "lazy-alloc"
    assert fault_resolution(frame(5, ro), frame(5, ro)) == "unknown"
    assert fault_resolution(frame(5, ro), None, killed=True) == "killed"
    for name in ("cow-copy", "cow-reuse", "lazy-alloc", "killed", "unknown"):
        assert name in RESOLUTIONS
