"""On a real kernel, translated blocks and one-instruction steps retire the same
instructions: same console output, same instruction count."""

import pytest

pytestmark = pytest.mark.slow


def _boot(program, max_block, monkeypatch, harts=1):
    from rvtrace.cpu import hart as hart_mod
    from rvtrace.machine.config import MachineConfig
    from rvtrace.machine.machine import Machine

    bundle = pytest.importorskip("rvtrace.guest.bundle")
    try:
        kernel, disk, bootargs = bundle.bundled_boot(program, [], cow=True)
    except Exception as exc:                                  # no toolchain / guest sources
        pytest.skip(f"bundled guest not available: {exc}")
    monkeypatch.setattr(hart_mod.Hart, "max_block", max_block)
    m = Machine(MachineConfig(kernel=str(kernel), disk=str(disk), bootargs=bootargs, harts=harts))
    out = []
    m.on_console_output = out.append
    result = m.run(max_insns=20_000_000)
    return result.reason, result.exit_code, result.icount, bytes(out)


def test_forkexec_same_with_blocks_and_single_steps(monkeypatch):
    blocks = _boot("forkexec", 64, monkeypatch)
    singles = _boot("forkexec", 1, monkeypatch)
    assert blocks[0] == "poweroff" and blocks[1] == 0
    assert blocks == singles


def test_forkexec_same_with_and_without_loop_acceleration(monkeypatch):
    from rvtrace.cpu import accel
    from rvtrace.cpu import hart as hart_mod
    monkeypatch.setattr(hart_mod.Hart, "accel", True)
    before = accel.stats["bulks"]
    fast = _boot("forkexec", hart_mod.MAX_BLOCK, monkeypatch)
    assert accel.stats["bulks"] > before                     # the kernel's loops did run in bulk
    monkeypatch.setattr(hart_mod.Hart, "accel", False)
    plain = _boot("forkexec", hart_mod.MAX_BLOCK, monkeypatch)
    assert fast[0] == "poweroff" and fast == plain


def test_three_harts_same_with_and_without_spin_acceleration(monkeypatch):
    # Harts wait for each other's spinlocks (a holder's turn ends inside its critical
    # section): those amoswap spins run in bulk, and must change nothing.
    from rvtrace.cpu import accel
    from rvtrace.cpu import hart as hart_mod
    monkeypatch.setattr(hart_mod.Hart, "accel", True)
    before = accel.stats["spins"]
    fast = _boot("forkexec", hart_mod.MAX_BLOCK, monkeypatch, harts=3)
    assert accel.stats["spins"] > before
    monkeypatch.setattr(hart_mod.Hart, "accel", False)
    plain = _boot("forkexec", hart_mod.MAX_BLOCK, monkeypatch, harts=3)
    assert fast[0] == "poweroff" and fast == plain


def test_forkexec_same_with_cold_steps_and_translations(monkeypatch):
    from rvtrace.cpu import hart as hart_mod
    monkeypatch.setattr(hart_mod.Hart, "hot_after", 10 ** 9)     # everything runs as cold steps
    cold = _boot("forkexec", hart_mod.MAX_BLOCK, monkeypatch)
    monkeypatch.setattr(hart_mod.Hart, "hot_after", 0)           # everything translated at once
    hot = _boot("forkexec", hart_mod.MAX_BLOCK, monkeypatch)
    assert cold[0] == "poweroff" and cold == hot
