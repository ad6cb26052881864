"""The capture options, typed, and the check that turns them into the API's JSON.

Each option is a keyword argument in snake_case (``full_page=True``), as the
``TypedDict``\\ s below list them, so type checkers and editors know every name and type.
The API's camelCase (``fullPage=True``) is still accepted at run time, for code written
before the types. A name that is neither is refused before anything is sent, with
:class:`UnknownOptionError` (a ``TypeError``, as Python raises for an unexpected
keyword), naming the closest known option: a typo never reaches the server, nor spends
a request of the quota.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Dict, FrozenSet, List, Literal, Mapping, Optional, Sequence, TypedDict, cast

from .errors import PageShotError

Format = Literal["png", "jpeg", "webp", "pdf"]
WaitUntil = Literal["load", "domcontentloaded", "networkidle"]
BlockableResource = Literal[
    "image", "media", "font", "stylesheet", "script", "xhr", "fetch", "websocket", "eventsource", "manifest", "texttrack", "other"
]
PaperFormat = Literal["Letter", "Legal", "Tabloid", "Ledger", "A0", "A1", "A2", "A3", "A4", "A5", "A6"]


class PdfMargin(TypedDict, total=False):
    """Page margins of a PDF: CSS lengths such as ``"1cm"``, ``"0.5in"`` (default 0)."""

    top: str
    right: str
    bottom: str
    left: str


class PdfOptions(TypedDict, total=False):
    """The ``pdf=`` option of a capture with ``format="pdf"`` (or :meth:`~pageshot.PageShot.pdf`)."""

    #: Named paper size (default Letter unless ``width`` and ``height`` are given).
    paper_format: PaperFormat
    #: Paper width, e.g. ``"210mm"``; with ``height``, instead of ``paper_format``.
    width: str
    #: Paper height, e.g. ``"297mm"``.
    height: str
    #: Page margins; a header or footer is drawn inside the top or bottom margin.
    margin: PdfMargin
    #: Landscape paper (default False).
    landscape: bool
    #: Print background colours and images (default True).
    print_background: bool
    #: Pages to print, counted from 1, e.g. ``"1-3, 5"`` (default all).
    page_ranges: str
    #: Rendering scale, 0.1–2 (default 1).
    scale: float
    #: HTML of each page header (classes ``date``, ``title``, ``url``, ``pageNumber``, ``totalPages`` are filled in).
    header_template: str
    #: HTML of each page footer.
    footer_template: str


class _CookieRequired(TypedDict):
    name: str
    value: str


class Cookie(_CookieRequired, total=False):
    """A cookie set before the page loads; without ``domain`` it belongs to the target URL."""

    domain: str
    path: str
    secure: bool
    http_only: bool
    same_site: Literal["Strict", "Lax", "None"]
    #: Unix time in seconds.
    expires: int


class ScalarCaptureOptions(TypedDict, total=False):
    """The capture options that are single values: those a signed link (``GET /screenshot``)
    can carry too. ``url`` is the capture methods' first argument, so it is not listed here."""

    #: Markup rendered instead of a URL.
    html: str
    #: Viewport width in CSS pixels (default 1280; a ``device`` overrides it).
    width: int
    #: Viewport height in CSS pixels (default 720).
    height: int
    #: Image pixels per CSS pixel, 1–3 (default 1).
    device_scale_factor: float
    #: Capture the whole page height (images only).
    full_page: bool
    #: Output format (default png); ``"pdf"`` prints the page.
    format: Format
    #: 0–100, jpeg and webp only (default 80).
    quality: int
    #: Capture only the first visible element matching this CSS selector (images only).
    selector: str
    #: When navigation counts as done (default ``"load"``).
    wait_until: WaitUntil
    #: Wait until an element matching this selector is visible.
    wait_for_selector: str
    #: Extra wait before capturing, in ms.
    delay: int
    #: The server's deadline for rendering, in **milliseconds** (1000 up to the server's
    #: ``PAGESHOT_MAX_TIMEOUT_MS``; default 30000; missed: ``RENDER_TIMEOUT``). Not the
    #: client's ``timeout`` (seconds, the HTTP deadline of one attempt), which must be longer.
    timeout: int
    #: ``prefers-color-scheme: dark``.
    dark_mode: bool
    #: Transparent default background (png, webp).
    omit_background: bool
    #: User-Agent for every request the page makes.
    user_agent: str
    #: Style sheet added before capture.
    css: str
    #: Script run in the page before capture.
    js: str
    #: A brand-new browser context, and a new render rather than an answer from the cache.
    fresh: bool
    #: Seconds a cached result may be old to answer this call, and how long a new one is kept (0 = no cache).
    cache_ttl: int
    #: Scroll through the page first so lazy content loads (default: True with ``full_page``).
    scroll_page: bool
    #: Finish CSS animations and transitions, stop carets (default True).
    disable_animations: bool
    #: Refuse cookie-consent dialogs and hide what remains of them.
    block_cookie_banners: bool
    #: Block ads (EasyList) and hide ad slots.
    block_ads: bool
    #: Block trackers (EasyPrivacy).
    block_trackers: bool
    #: Click the first element matching this CSS selector before capturing.
    click_selector: str
    #: Fail with ``BLANK_PAGE`` when the picture is a single colour.
    fail_on_blank: bool
    #: Fail with ``NAVIGATION_FAILED`` when the target answers 4xx or 5xx (default True).
    fail_on_http_error: bool
    #: Named device preset, e.g. ``"iPhone 15"`` (:meth:`~pageshot.PageShot.devices` lists them).
    device: str
    #: IANA time zone of the page, e.g. ``"Europe/Berlin"``.
    timezone: str
    #: BCP 47 locale of the page, e.g. ``"de-DE"``.
    locale: str
    #: ``prefers-reduced-motion`` of the page.
    reduced_motion: Literal["reduce", "no-preference"]
    #: CSS media type (default: screen for images, print for PDF).
    media_type: Literal["screen", "print"]


class CaptureOptions(ScalarCaptureOptions, total=False):
    """Every option of a capture (``screenshot()``, ``pdf()``, ``submit()``, ``screenshot_to_file()``)."""

    #: Extra HTTP headers on every request the page makes (names sent as given).
    headers: Mapping[str, str]
    #: Cookies set before the page loads.
    cookies: Sequence[Cookie]
    #: CSS selectors of elements hidden before capture.
    hide_selectors: Sequence[str]
    #: Request types never loaded, e.g. ``["image", "font"]``.
    block_resources: Sequence[BlockableResource]
    #: Paper, margins and printing; only with ``format="pdf"``.
    pdf: PdfOptions


class SignedUrlOptions(ScalarCaptureOptions, total=False):
    """The options of :meth:`~pageshot.PageShot.signed_url`: the scalar ones, ``url`` included."""

    #: ``http:`` or ``https:`` URL to capture.
    url: str


ScreenshotOptions = TypedDict(
    "ScreenshotOptions",
    {
        "url": str,
        "html": str,
        "width": int,
        "height": int,
        "deviceScaleFactor": float,
        "fullPage": bool,
        "format": Format,
        "quality": int,
        "selector": str,
        "waitUntil": WaitUntil,
        "waitForSelector": str,
        "delay": int,
        "timeout": int,
        "darkMode": bool,
        "omitBackground": bool,
        "userAgent": str,
        "css": str,
        "js": str,
        "fresh": bool,
        "cacheTtl": int,
        "scrollPage": bool,
        "disableAnimations": bool,
        "blockCookieBanners": bool,
        "blockAds": bool,
        "blockTrackers": bool,
        "clickSelector": str,
        "failOnBlank": bool,
        "failOnHttpError": bool,
        "device": str,
        "timezone": str,
        "locale": str,
        "reducedMotion": Literal["reduce", "no-preference"],
        "mediaType": Literal["screen", "print"],
        "headers": Mapping[str, str],
        "cookies": Sequence[Mapping[str, Any]],
        "hideSelectors": Sequence[str],
        "blockResources": Sequence[BlockableResource],
        "pdf": Mapping[str, Any],
    },
    total=False,
)
ScreenshotOptions.__doc__ = """The JSON body of ``POST /screenshot`` as the API names its fields (camelCase),
which :func:`capture_body` makes from the keyword arguments (:class:`CaptureOptions`): the
same options, ``url`` included, under their wire names."""


def _keys(typed: Any) -> FrozenSet[str]:
    return frozenset(typed.__required_keys__ | typed.__optional_keys__)


#: Option names, snake_case, from the types above (the single list of them).
CAPTURE_OPTIONS = _keys(CaptureOptions) | {"url"}
SCALAR_OPTIONS = _keys(SignedUrlOptions)
_NESTED = {"pdf": _keys(PdfOptions), "margin": _keys(PdfMargin), "cookies": _keys(Cookie)}


class UnknownOptionError(PageShotError, TypeError):
    """An option name the API does not have, refused before sending (a ``TypeError`` too,
    as for any unexpected keyword argument)."""

    def __init__(self, message: str, option: str) -> None:
        super().__init__(message)
        #: The name as given.
        self.option = option


def snake(name: str) -> str:
    """``fullPage`` → ``full_page``; names already in snake_case pass through."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    """``full_page`` → ``fullPage``; names already in camelCase pass through."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _check_names(values: Mapping[str, Any], known: FrozenSet[str], where: str) -> None:
    seen: Dict[str, str] = {}
    for name in values:
        key = snake(str(name))
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UnknownOptionError(f"Unknown {where} {name!r}.{hint} Known: {', '.join(sorted(known))}.", str(name))
        if key in seen:
            raise UnknownOptionError(f"The {where} {key!r} is given twice ({seen[key]!r} and {name!r}).", str(name))
        seen[key] = str(name)


def _api(value: Any, known: FrozenSet[str], where: str) -> Dict[str, Any]:
    """A mapping of options with checked names, in the API's camelCase, None values left out."""
    mapping = cast(Mapping[str, Any], value)
    _check_names(mapping, known, where)
    return {camel(snake(str(name))): item for name, item in mapping.items() if item is not None}


def capture_body(url: Optional[str], options: Mapping[str, Any]) -> Dict[str, Any]:
    """The JSON body of a capture (a :data:`ScreenshotOptions`): names checked (:class:`UnknownOptionError`) and in the
    API's camelCase, nested ones too (``pdf``, its ``margin``, ``cookies``; not ``headers``,
    whose keys are header names). Values are the server's to check."""
    body = _api(options, CAPTURE_OPTIONS, "option")
    pdf = body.get("pdf")
    if isinstance(pdf, Mapping):
        body["pdf"] = _api(pdf, _NESTED["pdf"], "pdf option")
        if isinstance(body["pdf"].get("margin"), Mapping):
            body["pdf"]["margin"] = _api(body["pdf"]["margin"], _NESTED["margin"], "pdf margin")
    cookies = body.get("cookies")
    if isinstance(cookies, (list, tuple)):
        items = cast(Sequence[Any], cookies)
        body["cookies"] = [_api(cookie, _NESTED["cookies"], "cookie field") if isinstance(cookie, Mapping) else cookie for cookie in items]
    if url is not None:
        body["url"] = url
    return body


def scalar_options(options: Mapping[str, Any]) -> Dict[str, Any]:
    """The options of a signed link, names checked and in camelCase; refuses structured ones."""
    structured = [name for name in options if snake(str(name)) in CAPTURE_OPTIONS - SCALAR_OPTIONS]
    if structured:
        raise UnknownOptionError(
            f"A signed link carries scalar options only; {structured[0]!r} needs POST /screenshot.", str(structured[0])
        )
    return _api(options, SCALAR_OPTIONS, "option")


__all__: List[str] = [
    "BlockableResource",
    "CaptureOptions",
    "Cookie",
    "Format",
    "PaperFormat",
    "PdfMargin",
    "PdfOptions",
    "ScalarCaptureOptions",
    "ScreenshotOptions",
    "SignedUrlOptions",
    "UnknownOptionError",
    "WaitUntil",
]
