"""Introspection of the bundled kernel's real memory, taken from QEMU.

Boot the kernel with no command (it runs the shell), wait for the `$ `
prompt -- then init sleeps in wait() and sh sleeps reading the console, a
state that does not depend on timing -- freeze QEMU and save its RAM through
the monitor. ProcessView and the saved-context backtraces must find exactly
that in the dump.
"""

import os
import select
import shutil
import socket
import subprocess
import time

import pytest

from rvtrace.trace.text import summarize_sleep
from rvtrace.errors import UserError
from rvtrace.kernel import KernelImage, ProcessView

RAM, RAM_SIZE = 0x80000000, 128 << 20

pytestmark = [pytest.mark.slow, pytest.mark.qemu]


def qemu_ram_at_shell_prompt(kernel, disk, tmp):
    """The guest's RAM (bytes) once the shell printed its prompt."""
    sock, dump = tmp / "monitor.sock", tmp / "ram.bin"
    cmd = ["timeout", "60", "qemu-system-riscv64", "-machine", "virt", "-bios", "none", "-m", "128M",
           "-nographic", "-smp", "1", "-global", "virtio-mmio.force-legacy=false",
           "-drive", f"file={disk},if=none,format=raw,id=x0",
           "-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0",
           "-kernel", str(kernel), "-monitor", f"unix:{sock},server,nowait"]
    qemu = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        console, deadline = b"", time.time() + 30
        while b"$ " not in console and time.time() < deadline and qemu.poll() is None:
            ready, _, _ = select.select([qemu.stdout], [], [], 0.5)
            if ready:
                console += os.read(qemu.stdout.fileno(), 4096)
        assert b"$ " in console, f"no shell prompt; console: {console!r}"
        time.sleep(0.3)            # let sh reach its read() after printing the prompt
        mon = socket.socket(socket.AF_UNIX)
        mon.connect(str(sock))
        mon.settimeout(5)
        for line in ("stop", f'pmemsave {RAM:#x} {RAM_SIZE:#x} "{dump}"', "quit"):
            mon.sendall(line.encode() + b"\n")
            time.sleep(0.3)
        qemu.wait(20)
        return dump.read_bytes()
    finally:
        if qemu.poll() is None:
            qemu.kill()
            qemu.wait()


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory):
    if shutil.which("qemu-system-riscv64") is None:
        pytest.skip("qemu-system-riscv64 is not installed")
    from rvtrace.guest.build import build_all
    try:
        guest = build_all()
    except UserError as exc:
        pytest.skip(f"the bundled guest does not build yet: {str(exc).strip().splitlines()[-1]}")
    tmp = tmp_path_factory.mktemp("qemu")
    disk = tmp / "fs.img"
    shutil.copyfile(guest.disk, disk)             # the cached image stays untouched
    ram = qemu_ram_at_shell_prompt(guest.kernel, disk, tmp)
    assert len(ram) == RAM_SIZE

    def read(addr, size):
        off = addr - RAM
        if off < 0 or off + size > RAM_SIZE:
            raise IndexError(f"no RAM at {addr:#x}")
        return ram[off:off + size]
    return KernelImage(guest.kernel), read


def test_processes_at_the_shell_prompt(snapshot):
    image, read = snapshot
    view = ProcessView(image, read)
    assert view.available, view.reason
    procs = view.processes()
    assert [(p.pid, p.name, p.state) for p in procs] == [(1, "init", "SLEEPING"), (2, "sh", "SLEEPING")]
    assert procs[1].parent == 1 and procs[0].parent is None
    assert procs[0].chan and procs[1].chan
    assert view.current_pid(0) == 0              # the hart idles in the scheduler


def test_where_the_sleepers_sleep(snapshot):
    image, read = snapshot
    view = ProcessView(image, read)
    init, sh = view.processes()
    sh_frames = [f.function for f in view.saved_backtrace(sh)]
    assert sh_frames[0] == "sched" and "consoleread" in sh_frames and "usertrap" in sh_frames
    assert summarize_sleep(sh_frames) == "console read"
    init_frames = [f.function for f in view.saved_backtrace(init)]
    assert "wait" in init_frames and summarize_sleep(init_frames) == "wait"
    # Where sched resumes after swtch: proc.c, or a riscv.h helper inlined there.
    file, line = image.source_line(view.saved_backtrace(sh)[0].pc)
    assert "/kernel_src/" in file and line > 0
