"""Types of the C profile.proto reader (``_pbtable.c``)."""

from typing import Any, Callable, Optional, Tuple, Union

def read(
    buf: Union[bytes, bytearray, memoryview], with_labels: bool,
    display_name: Callable[[str, str], str],
) -> Optional[Tuple[Any, ...]]: ...
