// Reading the boot arguments and the RAM size out of the flattened device
// tree (FDT) that the board hands to the kernel in a1.
//
// An FDT is a header, a "structure block" (a stream of 32-bit big-endian
// tokens describing nodes and their properties) and a "strings block"
// (property names). We walk the structure block for two facts: the boot
// arguments (`bootargs` in node /chosen, where QEMU's -append puts them) and
// how much RAM there is (`reg` of node /memory@...).

#include "types.h"
#include "defs.h"

#define FDT_MAGIC      0xd00dfeed
#define FDT_BEGIN_NODE 1   // + node name, NUL-terminated, padded to 4 bytes
#define FDT_END_NODE   2
#define FDT_PROP       3   // + u32 length, u32 name offset, value padded to 4
#define FDT_NOP        4
#define FDT_END        9

// Header fields we use (byte offsets).
#define HDR_MAGIC       0
#define HDR_TOTALSIZE   4
#define HDR_OFF_STRUCT  8
#define HDR_OFF_STRINGS 12

static uint32 be32(const uchar *p)
{
  return ((uint32)p[0] << 24) | ((uint32)p[1] << 16) | ((uint32)p[2] << 8) | p[3];
}

static uint32 align4(uint32 n) { return (n + 3) & ~3U; }

static int streq(const char *a, const char *b)
{
  while (*a && *a == *b)
    a++, b++;
  return *a == *b;
}

// Does node name `name` ("memory@80000000") name `node` ("memory")?
// The unit address after '@' does not matter.
static int node_is(const char *name, const char *node)
{
  while (*node && *name == *node)
    name++, node++;
  return *node == 0 && (*name == 0 || *name == '@');
}

// The value of property `prop` of the root's child node `node`, or 0.
// *len receives the value's length in bytes.
static const uchar *find_prop(uint64 fdt, const char *node, const char *prop, uint32 *len)
{
  const uchar *base = (const uchar *)fdt;
  if (base == 0 || be32(base + HDR_MAGIC) != FDT_MAGIC)
    return 0;
  const uchar *p = base + be32(base + HDR_OFF_STRUCT);
  const char *strings = (const char *)base + be32(base + HDR_OFF_STRINGS);
  const uchar *limit = base + be32(base + HDR_TOTALSIZE);

  int depth = 0;       // 1 inside the root node, 2 inside its children
  int in_node = 0;     // inside the node we look for (at depth 2)?
  while (p + 4 <= limit) {
    uint32 token = be32(p);
    p += 4;
    if (token == FDT_BEGIN_NODE) {
      const char *name = (const char *)p;
      depth++;
      if (depth == 2 && node_is(name, node))
        in_node = 1;
      p += align4(strlen(name) + 1);
    } else if (token == FDT_END_NODE) {
      if (depth == 2)
        in_node = 0;
      depth--;
    } else if (token == FDT_PROP) {
      uint32 n = be32(p);
      const char *name = strings + be32(p + 4);
      if (in_node && depth == 2 && streq(name, prop)) {
        *len = n;
        return p + 8;
      }
      p += 8 + align4(n);
    } else if (token == FDT_NOP) {
      continue;
    } else {
      break;   // FDT_END or garbage
    }
  }
  return 0;
}

// /chosen/bootargs (QEMU's -append), or 0 if there is none. The string
// stays where it is: copy it before the memory holding the tree is reused.
const char *fdt_bootargs(uint64 fdt)
{
  uint32 len;
  const char *args = (const char *)find_prop(fdt, "chosen", "bootargs", &len);
  return (args && len > 0) ? args : 0;
}

// The end of RAM from the first /memory node's "reg" (one base, size pair
// of 64-bit numbers: #address-cells = #size-cells = 2 on the virt board),
// or 0 if the tree does not say.
uint64 fdt_memory_end(uint64 fdt)
{
  uint32 len;
  const uchar *reg = find_prop(fdt, "memory", "reg", &len);
  if (reg == 0 || len < 16)
    return 0;
  uint64 base = ((uint64)be32(reg) << 32) | be32(reg + 4);
  uint64 size = ((uint64)be32(reg + 8) << 32) | be32(reg + 12);
  return base + size;
}
