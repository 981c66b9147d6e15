"""Our device tree against the one QEMU's virt board hands a kernel (`dumpdtb`)."""

import shutil
import struct
import subprocess

import pytest

from fdtread import node, parse_fdt
from rvtrace.machine.fdt import board_fdt
from test_machine_boot import elf

QEMU = shutil.which("qemu-system-riscv64")
MODELLED = ["soc/clint@2000000", "soc/plic@c000000", "soc/serial@10000000", "soc/test@100000",
            "poweroff", "reboot", "memory@80000000"] + [f"soc/virtio_mmio@1000{i}000" for i in range(1, 9)]
SAME_PROPS = ["reg", "compatible", "interrupts", "riscv,ndev", "clock-frequency", "#interrupt-cells",
              "interrupt-controller", "device_type", "offset", "value"]


@pytest.mark.qemu
@pytest.mark.skipif(QEMU is None, reason="qemu-system-riscv64 is not installed")
@pytest.mark.parametrize("harts", [1, 3])
def test_fdt_matches_qemu_for_the_devices_we_model(tmp_path, harts):
    kernel = tmp_path / "k.elf"
    kernel.write_bytes(elf())
    dtb = tmp_path / "q.dtb"
    subprocess.run(["timeout", "30", QEMU, "-machine", f"virt,dumpdtb={dtb}", "-bios", "none", "-m", "128M",
                    "-smp", str(harts), "-nographic", "-kernel", str(kernel), "-append", "cow=0 ls"],
                   capture_output=True, check=True)
    blob = dtb.read_bytes()
    qemu = parse_fdt(blob[:struct.unpack(">I", blob[4:8])[0]])
    ours = parse_fdt(board_fdt(harts, 0x8000_0000, 128 << 20, "cow=0 ls"))
    for path in MODELLED:
        q, o = node(qemu, path)["props"], node(ours, path)["props"]
        for prop in SAME_PROPS:
            assert q.get(prop) == o.get(prop), (path, prop)
    for path in ["chosen", "cpus"]:
        for prop in ["bootargs", "stdout-path", "timebase-frequency", "#address-cells", "#size-cells"]:
            assert node(qemu, path)["props"].get(prop) == node(ours, path)["props"].get(prop), (path, prop)
    cpus = lambda tree: sorted(n for n in node(tree, "cpus")["children"] if n.startswith("cpu@"))  # noqa: E731
    assert cpus(qemu) == cpus(ours)
