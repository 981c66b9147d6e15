// Powering the board off through the SiFive test device at TESTDEV.
// Writing 0x5555 ends the run successfully; (code << 16) | 0x3333 ends it
// with a failure code, which QEMU (and rvtrace) turn into their exit status.

#include "types.h"
#include "memlayout.h"
#include "defs.h"

#define TEST_PASS 0x5555
#define TEST_FAIL 0x3333

void poweroff(int status)
{
  uint32 code = status == 0 ? TEST_PASS : (((uint32)status & 0xffff) << 16) | TEST_FAIL;
  *(volatile uint32 *)TESTDEV = code;
  for (;;)   // the device stops the machine; nothing runs after the store
    ;
}
