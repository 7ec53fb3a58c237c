"""Every speed optimisation of vitec_nb as a switch that turns it off (benchmark A, ablation).

Off is the plain library call the optimisation replaced, made by a benchmark-side
monkeypatch of our own modules only (never of a third-party library's internals); it is
undone when the `ExitStack` closes. A switch whose target no longer exists in the code
raises `Absent`, and its row says "(not present in this code)" instead of a figure.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

# The modules the switches reach, imported before any patch so that every module holding
# a function by name (a from-import) is found and patched alike.
MODULES = (
    "vitec_nb",
    "vitec_nb.activity",
    "vitec_nb.answers",
    "vitec_nb.cache_serializer",
    "vitec_nb.cache_sqlite",
    "vitec_nb.chart_layout",
    "vitec_nb.charts",
    "vitec_nb.client",
    "vitec_nb.credentials",
    "vitec_nb.form_output",
    "vitec_nb.lookups",
    "vitec_nb.parse",
    "vitec_nb.parse_columns",
    "vitec_nb.parse_json",
    "vitec_nb.parse_xml",
    "vitec_nb.parsed_store",
    "vitec_nb.plan",
    "vitec_nb.plan.execution",
    "vitec_nb.plan.join",
    "vitec_nb.plan.memo",
    "vitec_nb.query",
    "vitec_nb.retries",
    "vitec_nb._base_client",
    "vitec_nb._send",
    "vitec_nb._session",
)


class Absent(Exception):
    """What a switch turns off is not in this code (renamed, replaced or removed)."""


def preload() -> None:
    """Import every module a switch patches (missing ones are left to the switch)."""
    for name in MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def module(name: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError:
        raise Absent(name) from None


def attribute(owner: Any, name: str) -> Any:
    """`owner.name`, or Absent naming it."""
    try:
        return getattr(owner, name)
    except AttributeError:
        label = getattr(owner, "__name__", type(owner).__name__)
        raise Absent(f"{label}.{name}") from None


def set_attr(stack: ExitStack, owner: Any, name: str, value: Any) -> None:
    """Set `owner.name` to `value` until `stack` closes (an attribute that must exist)."""
    attribute(owner, name)
    own = vars(owner) if hasattr(owner, "__dict__") else {}
    if name in own:
        stack.callback(setattr, owner, name, own[name])
    else:  # a class attribute seen through an instance: removing ours shows it again
        stack.callback(delattr, owner, name)
    setattr(owner, name, value)


def everywhere(stack: ExitStack, original: Any, replacement: Any) -> int:
    """Replace `original` in every vitec_nb module that holds it by name; how many."""
    found = 0
    for name, mod in list(sys.modules.items()):
        if not (name == "vitec_nb" or name.startswith("vitec_nb.")) or mod is None:
            continue
        for attr, value in list(vars(mod).items()):
            if value is original:
                set_attr(stack, mod, attr, replacement)
                found += 1
    if not found:
        raise Absent(getattr(original, "__qualname__", repr(original)))
    return found


def unmemoised(stack: ExitStack, module_name: str, name: str) -> None:
    """An `lru_cache`d function of ours replaced by the function it wraps."""
    memo = attribute(module(module_name), name)
    everywhere(stack, memo, attribute(memo, "__wrapped__"))


class Forgetful(dict):
    """A dict that never keeps anything: a memo that always misses."""

    def get(self, key: Any, default: Any = None) -> Any:
        return default

    def __setitem__(self, key: Any, value: Any) -> None:
        return None


@dataclass(frozen=True)
class Switch:
    """One optimisation: where it is, what it serves, how it is switched off."""

    key: str  # short name (the restarted-kernel child process is told it)
    name: str  # the optimisation in words
    where: str  # file:function
    group: str  # the measurement that serves it (bench_ablation.GROUPS)
    off: Callable[[ExitStack, Any], None]  # (stack, client or None): patch it off
    plain: str  # what runs instead when it is off
    # another switch of the group that is off in both runs of this row: the row measures
    # this one where that one does not answer first (its "on" is that switch's "off")
    given: str = ""


# -- the switches ----------------------------------------------------------------------------


def _recent_off(stack: ExitStack, client: Any) -> None:
    store = attribute(module("vitec_nb.parsed_store"), "ParsedStore")
    set_attr(stack, store, "recall", lambda self, key: None)


def _join_memo_off(stack: ExitStack, client: Any) -> None:
    memo = attribute(module("vitec_nb.plan.execution"), "JOIN_MEMO")
    set_attr(stack, memo, "get", lambda key: None)
    set_attr(stack, memo, "put", lambda key, result: None)


def _join_recent_off(stack: ExitStack, client: Any) -> None:
    memo = attribute(module("vitec_nb.plan.execution"), "JOIN_MEMO")
    set_attr(stack, memo, "_recent", Forgetful())  # every lookup goes to the kept record


def _join_kept_off(stack: ExitStack, client: Any) -> None:
    try:
        memo = module("vitec_nb.plan.memo")
    except Absent:
        memo = module("vitec_nb.plan.execution")
    set_attr(stack, memo, "_kept_join", lambda key: None)
    set_attr(stack, memo, "_keep_join", lambda key, result: None)


def _lookup_frames_off(stack: ExitStack, client: Any) -> None:
    if client is None:
        raise Absent("a client")
    attribute(module("vitec_nb.lookups"), "fetch_lookup")
    set_attr(stack, client, "_lookup_frames", Forgetful())


def _cache_keys_off(stack: ExitStack, client: Any) -> None:
    send = module("vitec_nb._send")
    sender, formats = attribute(send, "Sender"), attribute(send, "FORMATS")
    attribute(sender, "prepare")

    def cache_key(self: Any, path: str, params: Any, cid: str, fmt: str) -> str:
        return self.session.cache.create_key(self.prepare(path, params, cid, formats[fmt]))

    set_attr(stack, sender, "cache_key", cache_key)


def _index_off(stack: ExitStack, client: Any) -> None:
    # the query SQLite plans by itself: the primary key's own index, then the row
    set_attr(stack, module("vitec_nb.cache_sqlite"), "EXPIRY_INDEX", "sqlite_autoindex_responses_1")


def _parsed_copies_off(stack: ExitStack, client: Any) -> None:
    sqlite_parsed = attribute(module("vitec_nb.parsed_store"), "SQLiteParsed")
    set_attr(stack, sqlite_parsed, "get", lambda self, key: None)
    set_attr(stack, sqlite_parsed, "put", lambda self, *args, **kwargs: None)


def _copies_without_join_off(stack: ExitStack, client: Any) -> None:
    _join_kept_off(stack, client)
    _parsed_copies_off(stack, client)


def _early_ids_off(stack: ExitStack, client: Any) -> None:
    execution = module("vitec_nb.plan.execution")
    join = attribute(execution, "_join")
    attribute(execution, "_arrow_ids")

    def join_all_ids(plan: Any, answers: Any, failures: Any, demo: Any, *rest: Any) -> Any:
        return join(plan, answers, failures, demo, {}, *rest[1:])

    set_attr(stack, execution, "_arrow_ids", lambda frame: None)
    set_attr(stack, execution, "_join", join_all_ids)


def _pools_off(stack: ExitStack, client: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    set_attr(
        stack,
        module("vitec_nb.plan.execution"),
        "_pool",
        lambda workers: ThreadPoolExecutor(workers, thread_name_prefix="vitec-breakdown"),
    )
    set_attr(stack, module("vitec_nb.answers"), "_POOLS", Forgetful())


def _slots_off(stack: ExitStack, client: Any) -> None:
    execution = module("vitec_nb.plan.execution")
    pool = attribute(execution, "_pool")
    # as many threads as requests in flight: each waits for its own parse and store
    # before it sends its next request
    set_attr(stack, execution, "_pool", lambda workers: pool(max(1, workers // 2)))


def _body_reads_off(stack: ExitStack, client: Any) -> None:
    reader = attribute(module("vitec_nb.retries"), "read_whole_body")
    everywhere(stack, reader, lambda response: response.content)


def _just_missed_off(stack: ExitStack, client: Any) -> None:
    set_attr(stack, module("vitec_nb._send"), "JUST_MISSED", 0.0)  # always look again


def _zstd_off(stack: ExitStack, client: Any) -> None:
    set_attr(stack, module("vitec_nb.cache_serializer"), "COMPRESS_BODIES_FROM", 1 << 20)


def _proxies_off(stack: ExitStack, client: Any) -> None:
    session_module = module("vitec_nb._session")
    build = attribute(session_module, "client_session")

    def left_to_requests(*args: Any, **kwargs: Any) -> Any:
        session, gate = build(*args, **kwargs)
        session.trust_env = True  # requests merges the environment again on every request
        return session, gate

    everywhere(stack, build, left_to_requests)


def _tags_off(stack: ExitStack, client: Any) -> None:
    set_attr(stack, module("vitec_nb.credentials"), "_TAGS", Forgetful())


def _json_reader_off(stack: ExitStack, client: Any) -> None:
    reader = attribute(module("vitec_nb.parse_json"), "read_json_lists")
    everywhere(stack, reader, lambda body: None)


def _one_office_off(stack: ExitStack, client: Any) -> None:
    parse = module("vitec_nb.parse")
    codes = attribute(parse, "_customer_codes")

    def hashed(columns: Any, cids: Any) -> Any:  # always the dictionary encoding
        return codes(types.SimpleNamespace(fill=None, known=columns.known), cids)

    set_attr(stack, parse, "_customer_codes", hashed)


def _repeat_check_off(stack: ExitStack, client: Any) -> None:
    set_attr(stack, module("vitec_nb.parse_columns"), "_may_repeat", lambda ids: True)


def _iso_cast_off(stack: ExitStack, client: Any) -> None:
    import pandas as pd
    import pyarrow as pa

    def with_pandas(changed: Any) -> Any:
        times = pd.to_datetime(changed.to_pandas(), utc=True, format="ISO8601")
        return pa.Array.from_pandas(times.astype("datetime64[ns, UTC]"))

    everywhere(stack, attribute(module("vitec_nb.parse_columns"), "to_utc"), with_pandas)


def _xml_scan_off(stack: ExitStack, client: Any) -> None:
    everywhere(stack, attribute(module("vitec_nb.parse_xml"), "scan_lists"), lambda body: None)


def _margin_layout_off(stack: ExitStack, client: Any) -> None:
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    class Constrained(ConstrainedLayoutEngine):
        """matplotlib's constrained layout where the charts ask for theirs (any margins)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__()

    everywhere(stack, attribute(module("vitec_nb.chart_layout"), "MarginLayout"), Constrained)


def _figure_reuse_off(stack: ExitStack, client: Any) -> None:
    attribute(module("vitec_nb.charts"), "_emptied")
    set_attr(stack, module("vitec_nb.charts"), "_emptied", lambda fig, dpi=None: None)


def _shared_renderer_off(stack: ExitStack, client: Any) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = attribute(module("vitec_nb.chart_layout"), "ChartCanvas")
    set_attr(stack, canvas, "get_renderer", FigureCanvasAgg.get_renderer)


def _one_draw_off(stack: ExitStack, client: Any) -> None:
    form_output = module("vitec_nb.form_output")
    png, dpi = attribute(form_output, "png_bytes"), attribute(form_output, "CHART_DPI")

    def savefig(fig: Any, dpi: int = dpi) -> bytes:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()

    everywhere(stack, png, savefig)


SWITCHES: tuple[Switch, ...] = (
    Switch("recent", "recent parsed answers kept in process (cachetools LRU, by rows)",
           "parsed_store.py:ParsedStore.recall/remember", "warm", _recent_off,
           "each call reads its Arrow copy beside the cache (lookups: the cache entry)"),
    Switch("join-memo", "join memo: unchanged entries, no join",
           "plan/memo.py:JoinMemo.get/put (JOIN_MEMO)", "warm", _join_memo_off,
           "the answers are read and joined again"),
    Switch("join-recent", "join memo's recent joins in process (LRU)",
           "plan/memo.py:JoinMemo._recent", "warm", _join_recent_off,
           "the join kept beside the cache is read every time"),
    Switch("lookup-frames", "lookup frame memo", "lookups.py:fetch_lookup (client._lookup_frames)",
           "warm", _lookup_frames_off, "the users frame is built again from its records"),
    Switch("api-params", "query parameters remembered (lru_cache)", "query.py:_api_params",
           "warm", lambda st, c: unmemoised(st, "vitec_nb.query", "_api_params"),
           "strftime of every date filter again"),
    Switch("floors", "period floors remembered (lru_cache)", "activity.py:floor_period",
           "warm", lambda st, c: unmemoised(st, "vitec_nb.activity", "floor_period"),
           "pandas Period arithmetic again"),
    Switch("cache-keys", "cache keys remembered per request", "_send.py:Sender.cache_key",
           "warm", _cache_keys_off, "requests-cache's create_key on a prepared request"),
    Switch("expiry-index", "covering index (key, expires), INDEXED BY",
           "cache_sqlite.py:SQLiteStore.version/expiry", "warm", _index_off,
           "the primary key's index, then the row (the plan SQLite picks by itself)"),
    Switch("parsed-copies", "parsed copies beside the cache (Arrow IPC)",
           "parsed_store.py:SQLiteParsed.get/put", "restart", _parsed_copies_off,
           "every body read from SQLite and parsed again"),
    Switch("join-kept", "joins kept beside the cache (persisted join memo)",
           "plan/memo.py:_kept_join/_keep_join", "restart", _join_kept_off,
           "the answers' parsed copies are read and joined"),
    Switch("parsed-copies-no-join", "parsed copies beside the cache, when no kept join "
           "answers", "parsed_store.py:SQLiteParsed.get/put", "restart",
           _copies_without_join_off,
           "every body read from SQLite and parsed again, and joined", given="join-kept"),
    Switch("expiry-index", "covering index (key, expires), INDEXED BY",
           "cache_sqlite.py:SQLiteStore.version/expiry", "restart", _index_off,
           "the primary key's index, then the row"),
    Switch("category-dtype", "categories' dtype made once (lru_cache)",
           "parsed_store.py:_category", "restart",
           lambda st, c: unmemoised(st, "vitec_nb.parsed_store", "_category"),
           "a CategoricalDtype made per column read"),
    Switch("early-ids", "each answer's id array taken as it arrives",
           "plan/execution.py:_Fetched.take (join._arrow_ids)", "cold", _early_ids_off,
           "all id arrays made by the join after the last answer"),
    Switch("pools", "thread pools shared per process", "plan/execution.py:_pool, answers.py:"
           "run_concurrently", "cold", _pools_off, "a new ThreadPoolExecutor per run"),
    Switch("http-slots", "a slot per HTTP exchange, twice the threads",
           "retries.py:GatedAdapter.send, plan/execution.py:_fetch", "cold", _slots_off,
           "one thread per request in flight (it parses and stores before its next)"),
    Switch("body-reads", "bodies read in pieces of up to 1 MiB",
           "retries.py:read_whole_body", "cold", _body_reads_off,
           "requests' response.content (10 KiB reads)"),
    Switch("just-missed", "no second look for a parsed answer just missed",
           "_send.py:Sender.get_parsed (_missed, JUST_MISSED)", "cold", _just_missed_off,
           "the parsed store asked again before every send"),
    Switch("zstd-16k", "zstd-compressed bodies from 16 KiB (was 1 MiB)",
           "cache_serializer.py:_pack_body", "cold", _zstd_off,
           "base64 up to 1 MiB (requests-cache's own orjson stage), zstd above"),
    Switch("proxies-once", "proxies resolved once per client", "_session.py:client_session",
           "cold", _proxies_off, "trust_env: requests reads the environment per request"),
    Switch("tags", "credential tags derived once per process", "credentials.py:"
           "CredentialTagger.tag_for_header (_TAGS)", "cold", _tags_off,
           "scrypt for every new cache key"),
    Switch("json-reader", "JSON read by pyarrow's JSON reader", "parse_json.py:read_json_lists",
           "json", _json_reader_off, "orjson.loads and one pass per column"),
    Switch("iso-cast", "ISO 8601 cast by pyarrow", "parse_columns.py:to_utc", "json",
           _iso_cast_off, "pandas.to_datetime(utc=True, format='ISO8601')"),
    Switch("one-office", "one office's customer codes by a compare",
           "parse.py:_customer_codes", "json", _one_office_off, "a dictionary encoding"),
    Switch("repeat-hash", "duplicate check pre-screened by a numpy hash",
           "parse_columns.py:_may_repeat", "json", _repeat_check_off,
           "pandas Series.duplicated on every answer"),
    Switch("customer-dtype", "customer_id dtype made once (lru_cache)",
           "parse.py:_customer_dtype", "json",
           lambda st, c: unmemoised(st, "vitec_nb.parse", "_customer_dtype"),
           "a CategoricalDtype per answer"),
    Switch("xml-scan", "DataContract XML scanned by pyarrow (split + RE2)",
           "parse_xml.py:scan_lists", "xml", _xml_scan_off, "defusedxml's iterparse"),
    Switch("margin-layout", "the charts' own layout engine", "chart_layout.py:MarginLayout",
           "form", _margin_layout_off, "matplotlib's constrained layout"),
    Switch("one-draw", "PNG from one Agg draw", "form_output.py:png_bytes", "form",
           _one_draw_off, "Figure.savefig"),
    Switch("figure-reuse", "the last chart's figure emptied and drawn again",
           "charts.py:_emptied", "form", _figure_reuse_off, "a new Figure every run"),
    Switch("shared-renderer", "one Agg renderer per thread and size, shared by the charts",
           "chart_layout.py:ChartCanvas.get_renderer", "form", _shared_renderer_off,
           "FigureCanvasAgg.get_renderer (a renderer per figure)"),
)  # fmt: skip


def switch(key: str, group: str) -> Switch:
    """The switch `key` of `group`."""
    for s in SWITCHES:
        if s.key == key and s.group == group:
            return s
    raise KeyError(f"no switch {key!r} in group {group!r}")


@contextlib.contextmanager
def switched_off(which: Switch | None, client: Any = None) -> Iterator[None]:
    """`which` off inside the block (None: everything on). Raises Absent before the block."""
    with ExitStack() as stack:
        if which is not None:
            preload()
            which.off(stack, client)
        yield
