// The serial port: a 16550-compatible UART at UART0, interrupt UART0_IRQ.
//
// Output: uartputc() puts a byte in a small ring buffer and starts sending;
// the UART interrupts when its transmit register is empty again, and
// uartintr() sends the next byte. A process filling the buffer sleeps until
// there is room. uartputc_sync() bypasses all that and spins on the
// hardware: printf and the echo of typed characters use it, because they
// may run with interrupts off.
//
// Input: the UART interrupts when a byte arrives; uartintr() hands each one
// to the console's line discipline (consoleintr, console.c). When the
// console's buffer is full the receive interrupt is switched off and the
// bytes wait in the UART until a reader makes room (flow control).

#include "types.h"
#include "param.h"
#include "memlayout.h"
#include "riscv.h"
#include "spinlock.h"
#include "proc.h"
#include "defs.h"

// The UART's registers, one byte each, at UART0 + offset. Some offsets
// mean one register when read and another when written.
#define RHR 0   // read: receive holding register (the next input byte)
#define THR 0   // write: transmit holding register (the next output byte)
#define IER 1   // interrupt enable
#define IER_RX_ENABLE (1 << 0)
#define IER_TX_ENABLE (1 << 1)
#define FCR 2   // write: FIFO control
#define FCR_FIFO_ENABLE (1 << 0)
#define FCR_FIFO_CLEAR (3 << 1)   // clear both FIFOs
#define ISR 2   // read: interrupt status
#define LCR 3   // line control
#define LCR_EIGHT_BITS (3 << 0)
#define LCR_BAUD_LATCH (1 << 7)   // offsets 0 and 1 become the baud divisor
#define LSR 5   // line status
#define LSR_RX_READY (1 << 0)     // a byte is waiting in RHR
#define LSR_TX_IDLE (1 << 5)      // THR can take another byte

#define Reg(r) ((volatile unsigned char *)(UART0 + (r)))
#define ReadReg(r) (*(Reg(r)))
#define WriteReg(r, v) (*(Reg(r)) = (v))

// Bytes waiting to be sent: tx_buf[tx_r % TX_BUF_SIZE] is the next one,
// tx_w counts bytes ever added. Both only grow.
#define TX_BUF_SIZE 32
static struct spinlock tx_lock;
static char tx_buf[TX_BUF_SIZE];
static uint64 tx_w;
static uint64 tx_r;

extern volatile int panicked;   // printf.c: freeze output after a panic

static void uartstart(void);

void
uartinit(void)
{
  WriteReg(IER, 0x00);                 // quiet while we set it up
  WriteReg(LCR, LCR_BAUD_LATCH);       // set the speed: divisor 3 = 38400 baud
  WriteReg(0, 0x03);
  WriteReg(1, 0x00);
  WriteReg(LCR, LCR_EIGHT_BITS);       // 8 data bits, no parity, latch off
  WriteReg(FCR, FCR_FIFO_ENABLE | FCR_FIFO_CLEAR);
  WriteReg(IER, IER_TX_ENABLE | IER_RX_ENABLE);

  initlock(&tx_lock, "uart");
}

// Queue c for sending, sleeping while the buffer is full. Process context
// only (it may sleep): write() to the console ends up here.
void
uartputc(int c)
{
  acquire(&tx_lock);

  if (panicked) {
    for (;;)
      ;
  }
  while (tx_w == tx_r + TX_BUF_SIZE)
    sleep(&tx_r, &tx_lock);   // uartstart() wakes us as it sends
  tx_buf[tx_w % TX_BUF_SIZE] = c;
  tx_w += 1;
  uartstart();
  release(&tx_lock);
}

// Send c now, spinning until the UART takes it. Usable anywhere, also with
// interrupts off (printf, the echo of input, panic).
void
uartputc_sync(int c)
{
  push_off();
  if (panicked) {
    for (;;)
      ;
  }
  while ((ReadReg(LSR) & LSR_TX_IDLE) == 0)
    ;
  WriteReg(THR, c);
  pop_off();
}

// Move bytes from the buffer to the UART while it can take them. The
// caller holds tx_lock. When the UART is busy we stop: its "transmit
// empty" interrupt brings us back here.
static void
uartstart(void)
{
  while (tx_w != tx_r) {
    if ((ReadReg(LSR) & LSR_TX_IDLE) == 0)
      return;
    int c = tx_buf[tx_r % TX_BUF_SIZE];
    tx_r += 1;
    wakeup(&tx_r);   // room in the buffer for a sleeping uartputc()
    WriteReg(THR, c);
  }
}

// The next input byte, or -1 if none is waiting.
int
uartgetc(void)
{
  if (ReadReg(LSR) & LSR_RX_READY)
    return ReadReg(RHR);
  return -1;
}

// Turn the receive interrupt on or off. The console turns it off while its
// input buffer is full: bytes then wait in the UART (and the outside world
// is held back) instead of being lost. Caller holds the console's lock.
void
uartrxintr(int on)
{
  WriteReg(IER, IER_TX_ENABLE | (on ? IER_RX_ENABLE : 0));
}

// Send everything still queued, spinning on the hardware: poweroff() calls
// this so the last bytes a program wrote are not lost.
void
uartflush(void)
{
  acquire(&tx_lock);
  while (tx_w != tx_r) {
    while ((ReadReg(LSR) & LSR_TX_IDLE) == 0)
      ;
    WriteReg(THR, tx_buf[tx_r % TX_BUF_SIZE]);
    tx_r += 1;
  }
  wakeup(&tx_r);
  release(&tx_lock);
}

// The UART interrupted: input arrived, or it can send more, or both.
void
uartintr(void)
{
  // Reading ISR acknowledges a "transmit empty" interrupt; without it the
  // UART would keep interrupting while we have nothing more to send.
  ReadReg(ISR);

  // Take input bytes only while the console has room for them.
  while (consolewantsinput()) {
    int c = uartgetc();
    if (c == -1)
      break;
    consoleintr(c);
  }

  acquire(&tx_lock);
  uartstart();
  release(&tx_lock);
}
