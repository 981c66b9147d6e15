"""A tiny DTB reader for the tests: blob -> nested dicts {name: node}, props as bytes."""

import struct


def parse_fdt(blob: bytes) -> dict:
    magic, total, off_struct, off_strings = struct.unpack_from(">4I", blob, 0)
    assert magic == 0xD00DFEED and total == len(blob)
    pos = off_struct
    stack = []
    root = None
    while True:
        (token,) = struct.unpack_from(">I", blob, pos)
        pos += 4
        if token == 1:                          # begin node
            end = blob.index(b"\0", pos)
            node = {"name": blob[pos:end].decode(), "props": {}, "children": {}}
            pos = (end + 4) & ~3
            if stack:
                stack[-1]["children"][node["name"]] = node
            else:
                root = node
            stack.append(node)
        elif token == 2:
            stack.pop()
        elif token == 3:
            length, nameoff = struct.unpack_from(">II", blob, pos)
            pos += 8
            name_end = blob.index(b"\0", off_strings + nameoff)
            name = blob[off_strings + nameoff:name_end].decode()
            stack[-1]["props"][name] = blob[pos:pos + length]
            pos = (pos + length + 3) & ~3
        elif token == 4:
            continue
        elif token == 9:
            assert not stack
            return root
        else:
            raise AssertionError(f"bad token {token}")


def node(tree: dict, path: str) -> dict:
    for part in path.strip("/").split("/"):
        if part:
            tree = tree["children"][part]
    return tree


def cells(value: bytes) -> list[int]:
    return list(struct.unpack(f">{len(value) // 4}I", value))


def string(value: bytes) -> str:
    return value.rstrip(b"\0").decode()
