"""Just enough CBOR decoding (unsigned ints, byte strings, maps) to read the push message,
written here so that the check does not reuse the project's own decoder."""


def decode(data):
    value, end = _item(data, 0)
    if end != len(data):
        raise ValueError("trailing bytes")
    return value


def _length(data, pos):
    info = data[pos] & 0x1F
    if info < 24:
        return info, pos + 1
    size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
    return int.from_bytes(data[pos + 1:pos + 1 + size], "big"), pos + 1 + size


def _item(data, pos):
    major = data[pos] >> 5
    n, pos = _length(data, pos)
    if major == 0:
        return n, pos
    if major == 2:
        return bytes(data[pos:pos + n]), pos + n
    if major == 5:
        out = {}
        for _ in range(n):
            k, pos = _item(data, pos)
            v, pos = _item(data, pos)
            out[k] = v
        return out, pos
    raise ValueError(f"unsupported CBOR major type {major}")
