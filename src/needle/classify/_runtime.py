"""ONNX Runtime sessions with needle's thread settings, and finding bundled model files.

In: a model path (or bytes) and a thread count. Out: an ``onnxruntime.InferenceSession`` on
the CPU. Sessions are opened from local files only; nothing is ever fetched. ``LazySession``
is the mixin with which a classifier opens its session on first use and drops it when
pickled. onnxruntime is untyped, so its sessions are ``Any`` here, and only here.
"""

from __future__ import annotations

import importlib.util
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar

from needle._optional import import_optional
from needle.errors import ConfigError, OptionalDependencyError

__all__ = ["DEFAULT_THREADS", "LazySession", "onnx_session", "package_file", "package_version"]

#: onnxruntime threads per session; a scan runs one session per worker process, so one
#: thread each keeps N workers on N cores instead of N x cores threads fighting
DEFAULT_THREADS = 1


def onnx_session(
    model: str | Path | bytes, *, threads: int = DEFAULT_THREADS, optimize: bool = True
) -> Any:
    """Open ``model`` on the CPU with ``threads`` intra-op threads (0: onnxruntime decides)."""
    ort = import_optional("onnxruntime", "classify")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(int(threads), 0)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = (
        ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if optimize
        else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    )
    # idle threads must not spin: other workers' sessions share the same cores
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = model if isinstance(model, bytes) else str(model)
    if not isinstance(model, bytes) and not Path(model).is_file():
        raise ConfigError(f"model file not found: {model}")
    try:
        return ort.InferenceSession(
            source, sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors
        name = "model bytes" if isinstance(model, bytes) else str(model)
        raise ConfigError(f"cannot load {name} as an ONNX model: {exc}") from exc


def package_file(package: str, relative: str, extra: str = "classify") -> Path:
    """The path of a data file shipped inside an installed package, without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise OptionalDependencyError(
            f"{package!r} is not installed; install it with: pip install 'needle-triage[{extra}]'"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"the installed {package!r} package has no {relative}; reinstall it "
        f"(pip install --force-reinstall 'needle-triage[{extra}]')"
    )


def package_version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


class LazySession:
    """Mixin: a model session opened on first use and dropped when pickled.

    Subclasses implement ``_open()``; ``session`` returns the open one. The session never
    travels to a worker process: each process opens its own, with its own thread settings.
    """

    _state_drop: ClassVar[tuple[str, ...]] = ("_session",)
    _session: Any = None

    def _open(self) -> Any:
        raise NotImplementedError

    @property
    def session(self) -> Any:
        if self._session is None:
            self._session = self._open()
        return self._session

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for key in self._state_drop:
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
