"""Seed corpora for the harnesses: small synthetic files made here, plus the shared test data.

Run ``python fuzz/seeds.py [--out fuzz/seeds]``: one folder per harness, one file per seed,
written fresh each time (git ignores ``fuzz/seeds`` and ``fuzz/corpus``: nothing binary is
committed). Every seed is benign: synthetic gradients and flat colours, hashes of made-up
strings, and for the text harnesses everyday phrases plus the lines of the text guard's own
development set (``tests/data/textguard``, written by needle's authors). Files from
``../shared/testdata`` (see its README) are added when present and not larger than
``--max-bytes``: libFuzzer mutates up to the largest seed's size, and small seeds keep the
executions fast.
"""

from __future__ import annotations

import argparse
import bz2
import contextlib
import gzip
import hashlib
import io
import json
import lzma
import os
import random
import shutil
import struct
import sys
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEEDLE_SHARED_TESTDATA", ROOT.parent / "shared" / "testdata"))
DEV_SET = ROOT / "tests" / "data" / "textguard" / "dev.jsonl"
DEFAULT_OUT = ROOT / "fuzz" / "seeds"
#: shared files larger than this are left out (the PDQ photos; small ones of each kind remain)
MAX_BYTES = 64 * 1024

Seeds = dict[str, bytes]

# --- images ---------------------------------------------------------------------------------


def _picture(size: tuple[int, int] = (32, 24), seed: int = 0) -> Image.Image:
    """Smooth gradients and a block: benign, unique per seed, compresses well."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 7 + seed) % 256, (y * 5 + 3 * seed) % 256, ((x ^ y) * 3) % 256], -1)
    rgb[h // 4 : h // 2, w // 3 : w // 2] = (200, 40 + seed % 200, 90)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def _exif_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def images() -> Seeds:
    """One small file per format and mode Pillow writes, and a few that stress the decoder."""
    pic = _picture()
    seeds: Seeds = {
        "rgb.jpg": _save(pic, "JPEG", quality=80),
        "progressive.jpg": _save(pic, "JPEG", progressive=True),
        "grey.jpg": _save(pic.convert("L"), "JPEG"),
        "cmyk.jpg": _save(pic.convert("CMYK"), "JPEG"),
        "draft-large.jpg": _save(_picture((1100, 40), 3), "JPEG", quality=30),
        "rgb.png": _save(pic, "PNG"),
        "rgba.png": _save(pic.convert("RGBA"), "PNG"),
        "la.png": _save(pic.convert("LA"), "PNG"),
        "bilevel.png": _save(pic.convert("1"), "PNG"),
        "palette.png": _save(pic.convert("P"), "PNG", transparency=0),
        "i16.png": _save(pic.convert("I;16"), "PNG"),
        "interlaced.png": _save(pic, "PNG", interlace=1),
        "anim.gif": _save(pic, "GIF", save_all=True, append_images=[_picture(seed=9)]),
        "lossy.webp": _save(pic, "WEBP", quality=50),
        "lossless.webp": _save(pic.convert("RGBA"), "WEBP", lossless=True),
        "anim.webp": _save(pic, "WEBP", save_all=True, append_images=[_picture(seed=5)]),
        "raw.tif": _save(pic, "TIFF"),
        "lzw.tif": _save(pic, "TIFF", compression="tiff_lzw"),
        "float.tif": _save(pic.convert("F"), "TIFF"),
        "multipage.tif": _save(pic, "TIFF", save_all=True, append_images=[pic.convert("L")]),
        "rgb.bmp": _save(pic, "BMP"),
        "icon.ico": _save(pic, "ICO", sizes=[(16, 16)]),
        "rgb.ppm": _save(pic, "PPM"),
        "rgb.tga": _save(pic, "TGA"),
        "rgb.pcx": _save(pic, "PCX"),
        "rgb.qoi": _save(pic, "QOI"),
        "rgb.dds": _save(pic.convert("RGBA"), "DDS"),
        "rgb.sgi": _save(pic, "SGI"),
        "grey.im": _save(pic.convert("L"), "IM"),
        "eps-header.eps": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n",
        "empty.png": b"",
    }
    for optional in ("JPEG2000", "AVIF"):  # present in Pillow's wheels, absent in some builds
        with contextlib.suppress(KeyError, OSError):
            seeds[f"rgb.{optional.lower()}"] = _save(pic, optional)
    for value in (3, 6, 8):
        seeds[f"orientation-{value}.jpg"] = _save(pic, "JPEG", exif=_exif_orientation(value))
    png = seeds["rgb.png"]
    # a header that declares more pixels than the limit: a decompression bomb
    bomb = bytearray(png)
    bomb[16:24] = struct.pack(">II", 60_000, 60_000)
    bomb[29:33] = struct.pack(">I", zlib.crc32(bytes(bomb[12:29])))
    seeds["bomb-header.png"] = bytes(bomb)
    seeds["truncated.jpg"] = seeds["rgb.jpg"][: len(seeds["rgb.jpg"]) // 2]
    return seeds


# --- provenance -----------------------------------------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with(chunks: list[bytes], image: Image.Image | None = None) -> bytes:
    """A PNG with ``chunks`` right after IHDR."""
    data = _save(image or Image.new("RGB", (8, 8), (120, 130, 140)), "PNG")
    return data[:33] + b"".join(chunks) + data[33:]


def text_chunk(key: str, text: str) -> bytes:
    return png_chunk(b"tEXt", key.encode("latin-1") + b"\0" + text.encode("latin-1", "replace"))


def itxt_chunk(key: str, text: str, compressed: bool = False) -> bytes:
    raw = text.encode()
    body = zlib.compress(raw) if compressed else raw
    return png_chunk(b"iTXt", key.encode() + b"\0" + bytes([compressed, 0]) + b"\0\0" + body)


def jpeg_with(segments: list[tuple[int, bytes]]) -> bytes:
    """A small JPEG with APPn/COM ``segments`` right after SOI."""
    data = _save(Image.new("RGB", (16, 16), (90, 100, 110)), "JPEG")
    extra = b"".join(b"\xff" + bytes([m]) + struct.pack(">H", len(b) + 2) + b for m, b in segments)
    return data[:2] + extra + data[2:]


def webp_with(chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A lossless WebP in a VP8X container with extra chunks (EXIF, XMP) appended."""
    data = _save(Image.new("RGB", (16, 16), (10, 200, 30)), "WEBP", lossless=True)
    body = data[12:]
    flags = 0x08 * any(k == b"EXIF" for k, _ in chunks) | 0x04 * any(
        k == b"XMP " for k, _ in chunks
    )
    vp8x = bytes([flags, 0, 0, 0]) + (15).to_bytes(3, "little") * 2
    body = b"VP8X" + struct.pack("<I", 10) + vp8x + body
    for kind, payload in chunks:
        body += kind + struct.pack("<I", len(payload)) + payload + b"\0" * (len(payload) & 1)
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def exif_block(ifd0: dict[int, bytes], exif_ifd: dict[int, bytes] | None = None) -> bytes:
    """A TIFF-structured EXIF block built with Pillow (ASCII and UNDEFINED values)."""
    exif = Image.Exif()
    for tag, value in ifd0.items():
        exif[tag] = value.decode("latin-1")
    if exif_ifd:
        sub = exif.get_ifd(0x8769)
        for tag, value in exif_ifd.items():
            sub[tag] = value
    return exif.tobytes()[6:]  # without the "Exif\0\0" prefix: a TIFF structure


def xmp(inner: str) -> str:
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'{inner}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


A1111 = (
    "a watercolor of a harbour with boats\nNegative prompt: blurry, lowres\n"
    "Steps: 20, Sampler: DPM++ 2M, CFG scale: 7, Seed: 42, Size: 512x768, Model hash: abc123, "
    'Model: sd_xl_base_1.0, Lora hashes: "a: 1, b: 2", Version: v1.10.0'
)
COMFY_GRAPH = {
    "1": {"class_type": "CLIPTextEncode", "inputs": {"text": "a lighthouse at dusk"}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "lowres"}},
    "3": {
        "class_type": "KSampler",
        "inputs": {"positive": ["1", 0], "negative": ["2", 0], "model": ["9", 0], "seed": 5},
    },
    "9": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "sd_xl_base.safetensors"},
    },
}
NOVELAI_COMMENT = {
    "prompt": "a bowl of fruit on a table",
    "uc": "lowres",
    "steps": 28,
    "scale": 5,
    "seed": 7,
    "sampler": "k_euler",
}
SOURCE_TYPE = (
    '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
    'trainedAlgorithmicMedia"/>'
)
C2PA_REF = (
    '<rdf:Description xmlns:dcterms="http://purl.org/dc/terms/" '
    'dcterms:provenance="self#jumbf=/c2pa/urn:uuid:0000/c2pa.assertions"/>'
)


def _jumbf_box() -> bytes:
    """A minimal JUMBF superbox with a C2PA description box (no valid manifest inside)."""
    label = b"c2pa\0"
    jumd = b"jumd" + bytes.fromhex("6332706100110010800000aa00389b71") + b"\x03" + label
    jumd = struct.pack(">I", 8 + len(jumd) - 4) + jumd
    return struct.pack(">I", 8 + len(jumd)) + b"jumb" + jumd


def provenance() -> Seeds:
    """Generator records, XMP, EXIF, C2PA boxes and stealth bits in PNG, JPEG and WebP."""
    from needle.provenance.stealth import encode

    comfy = json.dumps(COMFY_GRAPH)
    xmp_ai = xmp(SOURCE_TYPE).encode()
    user_comment = b"UNICODE\0" + A1111.encode("utf-16-be")
    app11 = b"JP" + b"\0\x01" + b"\0\0\0\x01" + _jumbf_box()  # JPEG XT box carrying JUMBF
    alpha = np.zeros((64, 64, 4), np.uint8)
    alpha[..., :3] = np.asarray(_picture((64, 64), 2))
    alpha[..., 3] = 255
    record = {
        "Software": "NovelAI",
        "Source": "Stable Diffusion XL",
        "Comment": json.dumps(NOVELAI_COMMENT),
    }
    stealth = encode(alpha, json.dumps(record), mode="alpha", compressed=True)
    stealth_rgb = encode(alpha[..., :3].copy(), A1111, mode="rgb", compressed=False)
    flat = Image.new("RGB", (256, 256), (128, 120, 110))
    seeds: Seeds = {
        "a1111.png": png_with([text_chunk("parameters", A1111)]),
        "a1111-itxt-z.png": png_with([itxt_chunk("parameters", A1111, compressed=True)]),
        "comfy.png": png_with(
            [text_chunk("prompt", comfy), text_chunk("workflow", '{"nodes": []}')]
        ),
        "novelai.png": png_with(
            [
                text_chunk("Software", "NovelAI"),
                text_chunk("Source", "Stable Diffusion XL C1E1DE52"),
                text_chunk("Description", "a bowl of fruit on a table"),
                text_chunk("Comment", json.dumps(NOVELAI_COMMENT)),
            ]
        ),
        "invokeai.png": png_with(
            [
                text_chunk(
                    "invokeai_metadata",
                    json.dumps({"positive_prompt": "a red barn", "model": {"name": "sdxl"}}),
                )
            ]
        ),
        "invokeai-dream.png": png_with(
            [text_chunk("Dream", '"a red barn" -s 50 -S 42 -W 512 -H 512')]
        ),
        "fooocus.png": png_with(
            [
                text_chunk(
                    "parameters", json.dumps({"prompt": "a red barn", "version": "Fooocus v2.5.0"})
                ),
                text_chunk("fooocus_scheme", "fooocus"),
            ]
        ),
        "xmp-itxt.png": png_with([itxt_chunk("XML:com.adobe.xmp", xmp(SOURCE_TYPE + C2PA_REF))]),
        "exif-chunk.png": png_with([png_chunk(b"eXIf", exif_block({0x0131: b"Midjourney\0"}))]),
        "caBX.png": png_with([png_chunk(b"caBX", _jumbf_box())]),
        "stealth-alpha.png": _save(Image.fromarray(stealth, "RGBA"), "PNG"),
        "stealth-rgb.png": _save(Image.fromarray(stealth_rgb, "RGB"), "PNG"),
        "watermark-size.png": _save(flat, "PNG"),
        "a1111-usercomment.jpg": jpeg_with(
            [(0xE1, b"Exif\0\0" + exif_block({}, {0x9286: user_comment}))]
        ),
        "xmp.jpg": jpeg_with([(0xE1, b"http://ns.adobe.com/xap/1.0/\0" + xmp_ai)]),
        "software-exif.jpg": jpeg_with(
            [(0xE1, b"Exif\0\0" + exif_block({0x0131: b"Adobe Firefly\0", 0x010F: b"Canon\0"}))]
        ),
        "comment.jpg": jpeg_with([(0xFE, b"a caption written by hand")]),
        "app11-jumbf.jpg": jpeg_with([(0xEB, app11)]),
        "exif-xmp.webp": webp_with(
            [
                (b"EXIF", exif_block({0x0110: b"prompt:" + comfy.encode() + b"\0"})),
                (b"XMP ", xmp_ai),
            ]
        ),
        "xmp.tif": _save(_picture(), "TIFF", tiffinfo={700: xmp_ai}),
        "xmp.gif": _save(_picture(), "GIF", xmp=xmp_ai),
    }
    return seeds


def jpeg_metadata_only(data: bytes) -> bytes:
    """A JPEG's APPn and COM segments (EXIF, XMP, C2PA's JUMBF in APP11) on a 16x16 picture:
    the shared C2PA files' manifests without their photos' 100 KB of pixels. Content hashes
    no longer match, which the reader must report, not trip over."""
    kept, i = [], 2
    while i + 4 <= len(data) and data[i] == 0xFF and data[i + 1] != 0xDA:
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xE0 <= data[i + 1] <= 0xEF or data[i + 1] == 0xFE:
            kept.append(data[i : i + 2 + length])
        i += 2 + length
    return jpeg_with([])[:2] + b"".join(kept) + jpeg_with([])[2:]


# --- archives -------------------------------------------------------------------------------


def _zip(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buf.getvalue()


def _tar(members: list[tarfile.TarInfo | tuple[str, bytes]], **kw: object) -> bytes:
    """A tar archive without the zero padding of its last record (a 10 KB minimum)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", **kw) as archive:  # type: ignore[call-overload]
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                archive.addfile(info, io.BytesIO(member[1]))
    data = buf.getvalue().rstrip(b"\0")
    return data + b"\0" * (-len(data) % 512 + 1024)


def _link(name: str, kind: bytes, target: str = "photo.png") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def archives() -> Seeds:
    """Zip and tar archives, compressed every way they can be, nested, with unsafe members."""
    png = _save(_picture((8, 8)), "PNG")
    jpg = _save(_picture((8, 8), 1), "JPEG")
    members = [("photo.png", png), ("dir/photo.jpg", jpg), ("notes.txt", b"benign text\n")]
    inner_zip = _zip(members)
    inner_tar = _tar(members)
    symlink = zipfile.ZipInfo("link.png")
    symlink.external_attr = (0o120777 << 16) | 0x20
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(symlink, "photo.png")
        archive.writestr("photo.png", png)
    long_name = "a/" * 60 + "photo.png"  # a GNU long name / pax header in tar
    seeds: Seeds = {
        "stored.zip": _zip(members, zipfile.ZIP_STORED),
        "deflated.zip": _zip(members),
        "bzip2.zip": _zip(members, zipfile.ZIP_BZIP2),
        "lzma.zip": _zip(members, zipfile.ZIP_LZMA),
        "nested.zip": _zip([("inner.zip", inner_zip), ("inner.tar", inner_tar)]),
        "unsafe.zip": _zip([("../escape.png", png), ("/abs.png", png), ("c:evil.png", png)]),
        "symlink.zip": buf.getvalue(),
        "dirs.zip": _zip([("dir/", b""), ("dir/photo.png", png)]),
        "empty.zip": _zip([]),
        "plain.tar": inner_tar,
        "gnu.tar": _tar([(long_name, png)], format=tarfile.GNU_FORMAT),
        "pax.tar": _tar([(long_name, png)], format=tarfile.PAX_FORMAT),
        "ustar.tar": _tar(members, format=tarfile.USTAR_FORMAT),
        "nested.tar": _tar(
            [("inner.zip", inner_zip), ("deeper.tar", _tar([("x.tar", inner_tar)]))]
        ),
        "links.tar": _tar(
            [
                ("photo.png", png),
                _link("sym.png", tarfile.SYMTYPE),
                _link("hard.png", tarfile.LNKTYPE),
                _link("dev", tarfile.CHRTYPE),
                _link("fifo", tarfile.FIFOTYPE),
            ]
        ),
        "unsafe.tar": _tar([("../escape.png", png), ("/abs.png", png)]),
        "tar.gz": gzip.compress(inner_tar, mtime=0),
        "tar.bz2": bz2.compress(inner_tar),
        "tar.xz": lzma.compress(inner_tar),
    }
    return seeds


# --- banks ----------------------------------------------------------------------------------


def _hashes(i: int) -> dict[str, str]:
    text = f"needle-fuzz-{i}".encode()
    return {
        "md5": hashlib.md5(text).hexdigest(),
        "sha1": hashlib.sha1(text).hexdigest(),
        "sha256": hashlib.sha256(text).hexdigest(),
        "pdq": f"{random.Random(i).getrandbits(256):064x}",
    }


def banks() -> dict[str, Seeds]:
    """Files of every bank format: what needle writes, and hand-made variants it must read."""
    from needle.banks import BankEntry, registry

    entries = []
    for i in range(3):
        for kind, value in _hashes(i).items():
            meta = {"MediaID": str(10 + i)} if kind in ("md5", "sha1") else {}
            entries.append(
                BankEntry(kind, value, (f"vics-category:{i}", "ncmec-classification:A1"), meta)
            )
    out: dict[str, Seeds] = {}
    for fmt in registry:
        holds = getattr(fmt, "signal_types", None)
        mine = [e for e in entries if holds is None or e.signal_type in holds]
        files: Seeds = {}
        for kind in sorted({e.signal_type for e in mine}):
            group = [e for e in mine if e.signal_type == kind]
            buf = io.BytesIO()
            fmt.write(
                group, buf, signal_type=kind if fmt.name in ("text", "te-simple-csv") else None
            )
            files[f"written-{kind}"] = buf.getvalue()
        if fmt.name != "te-simple-csv":
            buf = io.BytesIO()
            fmt.write(mine, buf, signal_type=None)
            files["written-all"] = buf.getvalue()
        out[fmt.name] = files
    h = _hashes(7)
    out["text"].update(
        {
            "bare.txt": f"{h['md5']}\n{h['sha1']}  # a comment\n\n# signal_type: pdq\n{h['pdq']}\n".encode(),
            "bom-crlf.txt": b"\xef\xbb\xbf" + f"{h['md5']}\r\n{h['md5'].upper()}\r\n".encode(),
            "bad-lines.txt": f"xyz\n{h['md5'][:-1]}\n\xff\n".encode("latin-1"),
        }
    )
    out["csv"].update(
        {
            "header.csv": f'type,hash,label\nmd5,{h["md5"]},x\nHASH_PDQ,{h["pdq"]},"a, b"\n'.encode(),
            "no-type.csv": f',{h["sha1"]},"multi\nline"\n#md5,comment\n'.encode(),
        }
    )
    out["te-simple-csv"].update(
        {
            "hma.te": f"{h['pdq']},1234,567,2024-01-01T00:00:00Z,label1 label2\n".encode(),
            "short.te": f"{h['pdq']}\n{h['pdq']},notanumber,mine,\n".encode(),
        }
    )
    media = {
        "MediaID": 3,
        "Category": 2,
        "MD5": h["md5"].upper(),
        "MediaFiles": [{"SHA1": h["sha1"]}],
    }
    out["vics"].update(
        {
            "vics13.json": json.dumps(
                {
                    "odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media",
                    "value": [
                        {
                            **media,
                            "AlternativeHashes": [
                                {"HashName": "SHA1", "HashValue": h["sha1"]},
                                {"HashName": "PhotoDNA", "HashValue": "AAAA"},
                            ],
                        }
                    ],
                },
                indent=1,
            ).encode(),
            "vics20-cases.json": json.dumps(
                {
                    "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases",
                    "value": [{"CaseID": 1, "Media": [media, {"MediaID": 4, "Category": "x"}]}],
                },
                indent=1,
            ).encode(),
        }
    )
    record = {
        "signalType": "ImagePDQ", "hashValue": h["pdq"], "hashStatus": "Active",
        "lastModtimestamp": 1700000000, "caseNumbers": {"0000": "Active"},
        "CSPFeedbacks": [{"source": "x", "feedbackValue": "Blocked", "tags": ["a"]}],
        "hashRegions": ["UK"],
    }  # fmt: skip
    out["stopncii"]["page.json"] = json.dumps(
        {"count": 3, "nextPageToken": "t", "hasMoreRecords": True,
         "hashRecords": [record, {**record, "signalType": "VideoMD5", "hashValue": h["md5"]},
                         {**record, "hashStatus": "Withdrawn"}, {"signalType": "URL"}]},
        indent=1,
    ).encode()  # fmt: skip
    out["ncmec"]["query.xml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">\n'
        '<images count="2" maxTimestamp="2017-10-24T15:00:00Z">\n'
        '<image><member id="42">Example Member</member><timestamp>2017-10-24T15:00:00Z</timestamp>'
        f"<id>image1</id><classification>A1</classification><fingerprints><md5>{h['md5']}</md5>"
        f"<sha1>{h['sha1']}</sha1><pdq>{h['pdq']}</pdq><pdna>AAAA</pdna></fingerprints></image>\n"
        '<deletedImage><member id="43">Other</member><id>image4</id></deletedImage>\n'
        "</images>\n<videos><video><id>v1</id><fingerprints>"
        f"<md5>{h['md5']}</md5><tmk-pdqf>x</tmk-pdqf></fingerprints></video></videos>\n"
        "</queryResult>\n"
    ).encode()
    out["ncmec"]["entity.xml"] = b'<!DOCTYPE q [<!ENTITY a "aaaa">]><queryResult>&a;</queryResult>'
    return out


# --- text -----------------------------------------------------------------------------------

#: everyday phrases; the development set adds the guard's own clinical test phrases
PHRASES = (
    "a cat on a sofa",
    "a lighthouse at dusk, oil painting",
    "children playing football in a park",
    "ＦＵＬＬＷＩＤＴＨ text and 𝓼𝓽𝔂𝓵𝓮𝓭 letters",
    "z\u200bero\u200dwidth spaces",
    "Ünïcödé ñame_with-separators.jpg",
    "age 12, grade 5, 18+",
    "(masterpiece:1.2), [landscape], {{sunset}}",
    "😀🐈🌅 emoji only",
    "Привет мир 你好 世界 مرحبا",
)


def _dev_lines(limit: int) -> list[dict[str, str]]:
    if not DEV_SET.exists():
        return []
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line]
    step = max(1, len(rows) // limit)
    return rows[::step][:limit]


def texts() -> dict[str, Seeds]:
    rows = _dev_lines(120)
    guard: Seeds = {f"phrase-{i}": p.encode() for i, p in enumerate(PHRASES)}
    guard.update({f"dev-{i}": r["text"].encode() for i, r in enumerate(rows)})
    guard["not-utf8"] = b"caf\xe9 \xff\xfe name.jpg"
    lines = "\n".join(PHRASES[:4]).encode()
    jsonl = "\n".join(json.dumps({"text": p, "id": i}) for i, p in enumerate(PHRASES[:4])).encode()
    guard_file: Seeds = {
        "lines.txt": lines,
        "crlf.txt": lines.replace(b"\n", b"\r\n"),
        "prompts.jsonl": jsonl,
        "bad-jsonl.jsonl": b'{"text": "a cat"}\n{"text": 3}\n',
        "blank.txt": b"\n\n  \n",
    }
    labelled = [
        {"text": r["text"], "label": r["label"], "lang": r.get("lang", "")} for r in rows[:12]
    ]
    labels: Seeds = {
        "dev-slice.jsonl": "\n".join(json.dumps(r, ensure_ascii=False) for r in labelled).encode(),
        "minimal.jsonl": b'{"text": "a cat on a sofa", "label": "allow"}\n',
        "evasion.jsonl": b'{"text": "a c\\u0430t", "label": "allow", "lang": "en", "evasion": "homoglyph"}\n',
        "bad-label.jsonl": b'{"text": "a cat", "label": "maybe"}\n',
    }
    csv_labels: Seeds = {
        "label.csv": b"path,label\nimages/a.jpg,1\nimages/b.png,benign\n/abs/c.jpg,yes\n",
        "age.csv": b"\xef\xbb\xbfPath,Age\na.jpg,7.5\nb.jpg,131\nc.jpg,\n,4\n",
        "quoted.csv": b'path,label,note\n"a,b.jpg",true,"x\ny"\n',
        "latin1.csv": b"path,label\ncaf\xe9.jpg,1\n",
    }
    return {
        "textguard_check": guard,
        "guard_file": guard_file,
        "guard_labels": labels,
        "classify_labels": csv_labels,
    }


# --- shared test data -----------------------------------------------------------------------


def _shared(folders: tuple[str, ...], max_bytes: int) -> Iterator[tuple[str, bytes]]:
    for folder in folders:
        base = SHARED / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if (
                path.is_file()
                and path.stat().st_size <= max_bytes
                and not path.name.startswith(("LICENSE", "README"))
            ):
                name = "shared-" + str(path.relative_to(SHARED)).replace(os.sep, "-")
                yield name, path.read_bytes()


def build(max_bytes: int = MAX_BYTES) -> dict[str, Seeds]:
    """Seeds of every harness, by harness name."""
    image_seeds = images()
    image_seeds.update(_shared(("pdq/misc-images", "malformed"), max_bytes))
    prov = provenance()
    prov.update(_shared(("provenance", "malformed"), max_bytes))
    for name, data in _shared(("provenance/c2pa",), 1 << 20):
        spliced = jpeg_metadata_only(data)
        if name.endswith(".jpg") and len(spliced) <= max_bytes:
            prov[name.replace(".jpg", "-metadata.jpg")] = spliced
    prov["shared-like-photo.jpg"] = image_seeds["orientation-6.jpg"]
    bank_seeds = banks()
    corpora: dict[str, Seeds] = {
        "image_signals": image_seeds,
        "archive_walk": archives(),
        "provenance_examine": prov,
        "bank_guess": {
            f"{fmt}-{name}": data
            for fmt, seeds in bank_seeds.items()
            for name, data in seeds.items()
        },
    }
    corpora.update({f"bank_{fmt.replace('-', '_')}": seeds for fmt, seeds in bank_seeds.items()})
    corpora.update(texts())
    return corpora


def write(
    out: Path, max_bytes: int = MAX_BYTES, only: Callable[[str], bool] | None = None
) -> dict[str, Path]:
    """Write the seeds under ``out/<harness>/``, replacing what was there; returns the folders."""
    folders: dict[str, Path] = {}
    for harness, seeds in build(max_bytes).items():
        if only is not None and not only(harness):
            continue
        folder = out / harness
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in seeds.items():
            (folder / name).write_bytes(data)
        folders[harness] = folder
    return folders


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder of the corpora")
    parser.add_argument("--max-bytes", type=int, default=MAX_BYTES, help="largest shared file kept")
    args = parser.parse_args(argv)
    for harness, folder in sorted(write(args.out, args.max_bytes).items()):
        files = list(folder.iterdir())
        print(f"{harness:22} {len(files):4} seeds {sum(f.stat().st_size for f in files):>9,} bytes")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    sys.exit(_main(sys.argv[1:]))
