"""PLIC invariants under random device signals and driver activity (hypothesis)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from rvtrace.machine import plic

IRQS = [1, 2, 10, 33]
ops = st.lists(st.one_of(
    st.tuples(st.just("level"), st.sampled_from(IRQS), st.booleans()),
    st.tuples(st.just("prio"), st.sampled_from(IRQS), st.integers(0, 7)),
    st.tuples(st.just("enable"), st.integers(0, 3), st.integers(0, 2**32 - 1)),
    st.tuples(st.just("threshold"), st.integers(0, 3), st.integers(0, 7)),
    st.tuples(st.just("claim"), st.integers(0, 3), st.just(0)),
    st.tuples(st.just("complete"), st.integers(0, 3), st.sampled_from(IRQS)),
), max_size=60)


class Hart:
    def __init__(self):
        self.mip = 0

    def set_pending(self, mask, level):
        self.mip = (self.mip | mask) if level else (self.mip & ~mask)


@settings(max_examples=150, deadline=None)
@given(ops)
def test_plic_invariants(sequence):
    harts = [Hart(), Hart()]
    p = plic.Plic(harts)
    expected = set()                # sources signalled high since their last claim
    for op, a, b in sequence:
        if op == "level":
            p.signal(a, b)
            if b:
                expected.add(a)
        elif op == "prio":
            p.write(4 * a, 4, b)
        elif op == "enable":
            p.write(0x2000 + 0x80 * a, 4, b)
            p.write(0x2004 + 0x80 * a, 4, b)
        elif op == "threshold":
            p.write(0x200000 + 0x1000 * a, 4, b)
        elif op == "claim":
            irq = p.read(0x200004 + 0x1000 * a, 4)
            if irq:
                assert p.enable[a][irq] and p.claimed[irq] and not p.pending[irq]
                expected.discard(irq)
        else:
            before = list(p.pending)
            p.write(0x200004 + 0x1000 * a, 4, b)
            assert p.pending == before and not p.claimed[b]     # complete never re-pends (QEMU)
        assert {irq for irq in range(plic.NUM_SOURCES) if p.pending[irq]} == expected
        for ctx in range(4):                                        # outputs follow best()
            bit = plic.MIP_MEIP if ctx % 2 == 0 else plic.MIP_SEIP
            assert bool(harts[ctx // 2].mip & bit) == (p.best(ctx) != 0)
