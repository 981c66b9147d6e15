"""rvtrace: record what a RISC-V xv6-style kernel does, and travel through it in time."""

__version__ = "0.1.0"
