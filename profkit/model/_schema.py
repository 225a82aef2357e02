"""Our own ``profile.proto`` schema, built as a descriptor at import time.

Written from the field table of pprof's ``proto/profile.proto`` (package
``perftools.profiles``); compiled by the ``protobuf`` runtime (upb backend), so no
``protoc`` step and no generated file. Exposes the ``Profile`` message class.
"""

from __future__ import annotations

from typing import Any, List, Tuple

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_T = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _T.LABEL_OPTIONAL, _T.LABEL_REPEATED
_U64, _I64, _BOOL, _MSG, _STR = _T.TYPE_UINT64, _T.TYPE_INT64, _T.TYPE_BOOL, _T.TYPE_MESSAGE, _T.TYPE_STRING

# (message, [(field name, number, label, type, message type name or "")])
_MESSAGES: List[Tuple[str, List[Tuple[str, int, int, int, str]]]] = [
    ("Profile", [
        ("sample_type", 1, _REP, _MSG, "ValueType"),
        ("sample", 2, _REP, _MSG, "Sample"),
        ("mapping", 3, _REP, _MSG, "Mapping"),
        ("location", 4, _REP, _MSG, "Location"),
        ("function", 5, _REP, _MSG, "Function"),
        ("string_table", 6, _REP, _STR, ""),
        ("drop_frames", 7, _OPT, _I64, ""),
        ("keep_frames", 8, _OPT, _I64, ""),
        ("time_nanos", 9, _OPT, _I64, ""),
        ("duration_nanos", 10, _OPT, _I64, ""),
        ("period_type", 11, _OPT, _MSG, "ValueType"),
        ("period", 12, _OPT, _I64, ""),
        ("comment", 13, _REP, _I64, ""),
        ("default_sample_type", 14, _OPT, _I64, ""),
        ("doc_url", 15, _OPT, _I64, ""),
    ]),
    ("ValueType", [("type", 1, _OPT, _I64, ""), ("unit", 2, _OPT, _I64, "")]),
    ("Sample", [
        ("location_id", 1, _REP, _U64, ""),
        ("value", 2, _REP, _I64, ""),
        ("label", 3, _REP, _MSG, "Label"),
    ]),
    ("Label", [
        ("key", 1, _OPT, _I64, ""),
        ("str", 2, _OPT, _I64, ""),
        ("num", 3, _OPT, _I64, ""),
        ("num_unit", 4, _OPT, _I64, ""),
    ]),
    ("Mapping", [
        ("id", 1, _OPT, _U64, ""),
        ("memory_start", 2, _OPT, _U64, ""),
        ("memory_limit", 3, _OPT, _U64, ""),
        ("file_offset", 4, _OPT, _U64, ""),
        ("filename", 5, _OPT, _I64, ""),
        ("build_id", 6, _OPT, _I64, ""),
        ("has_functions", 7, _OPT, _BOOL, ""),
        ("has_filenames", 8, _OPT, _BOOL, ""),
        ("has_line_numbers", 9, _OPT, _BOOL, ""),
        ("has_inline_frames", 10, _OPT, _BOOL, ""),
    ]),
    ("Location", [
        ("id", 1, _OPT, _U64, ""),
        ("mapping_id", 2, _OPT, _U64, ""),
        ("address", 3, _OPT, _U64, ""),
        ("line", 4, _REP, _MSG, "Line"),
        ("is_folded", 5, _OPT, _BOOL, ""),
    ]),
    ("Line", [
        ("function_id", 1, _OPT, _U64, ""),
        ("line", 2, _OPT, _I64, ""),
        ("column", 3, _OPT, _I64, ""),
    ]),
    ("Function", [
        ("id", 1, _OPT, _U64, ""),
        ("name", 2, _OPT, _I64, ""),
        ("system_name", 3, _OPT, _I64, ""),
        ("filename", 4, _OPT, _I64, ""),
        ("start_line", 5, _OPT, _I64, ""),
    ]),
]

_PACKAGE = "perftools.profiles"


def _build() -> Any:
    fdp = descriptor_pb2.FileDescriptorProto(
        name="profkit/profile.proto", package=_PACKAGE, syntax="proto3"
    )
    for msg_name, fields in _MESSAGES:
        msg = fdp.message_type.add(name=msg_name)
        for fname, number, label, ftype, type_name in fields:
            f = msg.field.add(name=fname, number=number, label=label, type=ftype)
            if type_name:
                f.type_name = f".{_PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.Profile"))


ProfileMessage: Any = _build()
