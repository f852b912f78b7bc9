"""The console's good manners as checks any browser test can apply to any page: WCAG AA
contrast, accessible names, the keyboard's tab order and focus ring, no horizontal overflow
at a desktop and a phone width, layout shift while a page refreshes itself, the DOM's size
across swaps, and screenshots for the README.

Each check runs in the page (the browser's computed styles, not the templates' text) and
returns the failures as readable lines, so an assertion names every offending element:

    assert not (failed := contrast_failures(browser)), "\\n".join(failed)

`page_manners(browser)` runs the static checks (contrast, names, overflow at both widths)
at once; the lead applies it to every page. Must not: change the page it checks (it only
reads, apart from the window size it restores and the focus it moves).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

DESKTOP = (1280, 900)
PHONE = (390, 844)
# A phone's width with the whole of a long page in view: a layout shift counts only where
# it is seen, and below the fold it would not be.
PHONE_WHOLE_PAGE = (390, 3000)
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
_SCRATCH = Path(tempfile.gettempdir()) / f"kdb-console-screenshots-{os.getuid()}"

# Colour arithmetic shared by the scripts below (WCAG 2.x relative luminance).
_COLOURS = """
function rgba(text) {
  const m = text.match(/rgba?\\(([^)]+)\\)/);
  if (!m) return [0, 0, 0, 0];
  const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
}
function over(top, bottom) {  // top composited over an opaque bottom
  const a = top[3];
  return [0, 1, 2].map(i => top[i] * a + bottom[i] * (1 - a)).concat([1]);
}
function background(el) {  // the first opaque background up the ancestors, layers blended
  const layers = [];
  for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c[3] > 0) layers.push(c);
    if (c[3] >= 1) break;
  }
  let colour = [255, 255, 255, 1];
  for (const layer of layers.reverse()) colour = over(layer, colour);
  return colour;
}
function luminance(c) {
  const [r, g, b] = c.slice(0, 3).map(v => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function ratio(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}
function visible(el) {
  // checkVisibility: also false inside a closed <details> (its content is not rendered).
  if (!el.checkVisibility({ checkOpacity: true, checkVisibilityCSS: true })) return false;
  const s = getComputedStyle(el);
  return el.getClientRects().length > 0 && s.visibility !== "hidden" && s.opacity !== "0";
}
function describe(el) {
  let d = el.tagName.toLowerCase();
  if (el.id) d += "#" + el.id;
  if (el.classList.length) d += "." + [...el.classList].join(".");
  return d;
}
"""

_CONTRAST = (
    _COLOURS
    + """
const failures = [];
for (const el of document.body.querySelectorAll("*")) {
  if (!visible(el) || el.closest("[disabled], [aria-hidden=true]")) continue;
  const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  const field = ["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName) && el.type !== "hidden";
  if (!own && !field) continue;
  const s = getComputedStyle(el);
  const back = background(el);
  const fore = over(rgba(s.color), back);
  const size = parseFloat(s.fontSize);
  const large = size >= 24 || (size >= 18.66 && Number(s.fontWeight) >= 700);
  const need = large ? 3 : 4.5;
  const got = ratio(fore, back);
  if (got < need) {
    const text = (el.value || el.textContent).trim().slice(0, 40);
    const on = `rgb(${back.slice(0, 3).map(Math.round)})`;
    failures.push(
      `${describe(el)} "${text}": ${got.toFixed(2)}:1 < ${need}:1 (${s.color} on ${on})`);
  }
}
return failures;
"""
)

_NAMES = """
const failures = [];
const text = el => (el.textContent || "").trim();
function named(el) {
  if ((el.getAttribute("aria-label") || "").trim()) return true;
  const by = el.getAttribute("aria-labelledby");
  const byId = id => document.getElementById(id);
  if (by) return by.split(/\\s+/).some(id => byId(id) && text(byId(id)));
  if (el.labels && [...el.labels].some(text)) return true;
  if ((el.getAttribute("title") || "").trim()) return true;
  return false;
}
function describe(el) {
  const name = el.name ? `[name=${el.name}]` : "";
  return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + name;
}
const fields = "input:not([type=hidden]), select, textarea, progress, meter";
for (const el of document.querySelectorAll(fields)) {
  if (!named(el)) {
    failures.push(`${describe(el)} has no label (<label for>, aria-label or aria-labelledby)`);
  }
}
for (const el of document.querySelectorAll("button, a[href], [role=button]")) {
  const pictured = el.querySelector("img[alt]:not([alt=''])");
  if (!text(el) && !named(el) && !pictured) failures.push(`${describe(el)} has no text or name`);
}
for (const el of document.querySelectorAll("img")) {
  if (!el.hasAttribute("alt")) failures.push(`${describe(el)} has no alt`);
}
for (const el of document.querySelectorAll("svg")) {
  const hidden = el.closest("[aria-hidden=true]");
  const titled = el.querySelector(":scope > title") && text(el.querySelector(":scope > title"));
  if (!hidden && !titled && !named(el)) {
    failures.push(`${describe(el)} has no <title>, aria-label or aria-hidden`);
  }
}
const h1 = document.querySelectorAll("h1").length;
if (h1 !== 1) failures.push(`the page has ${h1} h1 elements, not one`);
const lang = document.documentElement.getAttribute("lang") || "";
if (!lang.trim()) failures.push("<html> has no lang");
if (!document.title.trim()) failures.push("the page has no <title>");
const seen = new Set();
for (const el of document.querySelectorAll("[id]")) {
  if (seen.has(el.id)) failures.push(`the id ${el.id} is used twice`);
  seen.add(el.id);
}
for (const el of document.querySelectorAll("[tabindex]")) {
  if (Number(el.getAttribute("tabindex")) > 0) {
    failures.push(`${describe(el)} has a positive tabindex`);
  }
}
return failures;
"""

_FOCUSABLE = (
    _COLOURS
    + """
const selector = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), "
  + "details > summary, "
  + "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
const order = [...document.querySelectorAll(selector)].filter(visible);
order.forEach((el, i) => { el.__mannersIndex = i; });
document.activeElement && document.activeElement.blur();
return order.map(describe);
"""
)

_FOCUSED = (
    _COLOURS
    + """
const el = document.activeElement;
if (!el || el === document.body) return [-1, "body", "no element has focus", 0];
const s = getComputedStyle(el);
let ring = null;
const width = parseFloat(s.outlineWidth);
if (s.outlineStyle !== "none" && width >= 1) {
  const around = background(el.parentElement || el);
  const got = ratio(over(rgba(s.outlineColor), around), around);
  if (got < 3) ring = `its focus outline contrasts ${got.toFixed(2)}:1 < 3:1`;
} else if (s.boxShadow === "none") {
  ring = "no visible focus indicator (outline none, no box-shadow)";
}
const parts = ["date", "time", "datetime-local", "month", "week"].includes(el.type) ? 8 : 0;
return [el.__mannersIndex === undefined ? -2 : el.__mannersIndex, describe(el), ring, parts];
"""
)


def contrast_failures(driver: WebDriver) -> list[str]:
    """Every visible element with text whose colour on its effective background is under
    WCAG AA: 4.5:1, or 3:1 for large text (24px, or 18.66px bold)."""
    return cast(list[str], driver.execute_script(_CONTRAST))


def name_failures(driver: WebDriver) -> list[str]:
    """Controls without an accessible name, images without alt, svg without a title or
    aria-hidden, not exactly one h1, no `lang`, duplicate ids, positive tabindex."""
    return cast(list[str], driver.execute_script(_NAMES))


def keyboard_failures(driver: WebDriver, *, limit: int = 60) -> list[str]:
    """Tab from the top of the page through its controls (at most `limit`): each visible
    focusable control, in document order, gets focus with a visible focus ring (an outline
    of 3:1 against its background, or a box-shadow). Moves the focus."""
    order: list[str] = driver.execute_script(_FOCUSABLE)
    failures = []
    for expected, name in enumerate(order[:limit]):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        index, focused, ring, fields = driver.execute_script(_FOCUSED)
        # A date or time input takes one Tab per part (day, month, year, hour...): on
        # through its parts to the next control.
        for _ in range(fields if index == expected - 1 else 0):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            index, focused, ring, _parts = driver.execute_script(_FOCUSED)
            if index != expected - 1:
                break
        if index != expected:
            failures.append(f"tab {expected + 1}: focus on {focused}, expected {name}")
            break  # the rest of the order is off by one from here
        if ring:
            failures.append(f"tab {expected + 1}: {focused}: {ring}")
    return failures


def overflow(driver: WebDriver) -> int:
    """How many CSS pixels the document is wider than the window (0: no horizontal scroll)."""
    return cast(
        int,
        driver.execute_script(
            "return Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
        ),
    )


def overflowing(driver: WebDriver) -> list[str]:
    """The elements sticking out past the window's right edge, outermost first."""
    return cast(
        list[str],
        driver.execute_script(
            _COLOURS
            + """
            const out = [];
            for (const el of document.body.querySelectorAll("*")) {
              const right = el.getBoundingClientRect().right;
              if (!visible(el) || right <= window.innerWidth + 0.5) continue;
              if (out.some(o => o.contains(el))) continue;
              let clipped = false;
              for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
                const x = getComputedStyle(p).overflowX;
                if (["auto", "scroll", "hidden"].includes(x)) clipped = true;
              }
              if (!clipped) out.push(el);
            }
            const right = e => Math.round(e.getBoundingClientRect().right);
            return out.map(e => describe(e) + " right=" + right(e));
            """
        ),
    )


@contextmanager
def window(driver: WebDriver, width: int, height: int) -> Iterator[None]:
    """The page laid out for a `width` x `height` viewport (device metrics through CDP, so
    a phone width below chromium's minimum window width is exact); restored after. Not in
    mobile mode: there chromium widens the layout viewport to fit a too-wide page, which
    would hide the very overflow the width check looks for."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def width_failures(driver: WebDriver) -> list[str]:
    """At the desktop and the phone width, the document must not scroll sideways."""
    failures = []
    for width, height in (DESKTOP, PHONE):
        with window(driver, width, height):
            extra = overflow(driver)
            if extra:
                # None found: one positioned outside its scroll box's containing block.
                culprits = ", ".join(overflowing(driver)[:5]) or "an absolutely positioned one?"
                failures.append(f"at {width}px the page is {extra}px too wide: {culprits}")
    return failures


def page_manners(driver: WebDriver) -> list[str]:
    """The static checks of the page shown: contrast, names, both widths."""
    return contrast_failures(driver) + name_failures(driver) + width_failures(driver)


def watch_layout_shift(driver: WebDriver) -> None:
    """Start summing the page's layout shifts (those not caused by input), from its load."""
    driver.execute_script(
        """
        window.__mannersShift = 0;
        window.__mannersShifts = [];
        new PerformanceObserver(list => {
          for (const entry of list.getEntries()) {
            if (entry.hadRecentInput) continue;
            window.__mannersShift += entry.value;
            const what = s => s.node ? (s.node.id || s.node.nodeName) : "?";
            window.__mannersShifts.push(
              entry.sources.map(what).join(",") + " " + entry.value.toFixed(4));
          }
        }).observe({type: "layout-shift", buffered: true});
        """
    )


def layout_shift(driver: WebDriver) -> tuple[float, list[str]]:
    """The cumulative layout shift since `watch_layout_shift`, and each shift's sources."""
    total, shifts = driver.execute_script("return [window.__mannersShift, window.__mannersShifts]")
    return float(total), list(shifts)


def dom_size(driver: WebDriver) -> dict[str, float]:
    """After a forced garbage collection: the page's elements and nodes (text too: a
    stray whitespace node left beside a swapped element each time adds up), and chromium's
    own counts (`Nodes` includes detached ones still referenced, `JSEventListeners`,
    `JSHeapUsedSize`)."""
    for _ in range(3):  # what one collection frees can let the next free more
        driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    driver.execute_cdp_cmd("Performance.enable", {})
    metrics: dict[str, Any] = driver.execute_cdp_cmd("Performance.getMetrics", {})
    wanted = {"Nodes", "JSEventListeners", "JSHeapUsedSize"}
    found = {m["name"]: float(m["value"]) for m in metrics["metrics"] if m["name"] in wanted}
    live = driver.execute_script(
        """
        const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
        let nodes = 0;
        while (walker.nextNode()) nodes += 1;
        return [document.getElementsByTagName("*").length, nodes];
        """
    )
    found["elements"], found["live nodes"] = float(live[0]), float(live[1])
    return found


def screenshot(driver: WebDriver, name: str) -> Path:
    """The whole page at the desktop width as console-<name>.png: into docs/images (the
    README's pictures) under `make screenshots` (KDB_SCREENSHOTS=1), otherwise into a
    scratch folder, so that `make test` leaves the checkout as it found it (each picture
    holds a fresh key id and times)."""
    folder = IMAGES if os.environ.get("KDB_SCREENSHOTS") == "1" else _SCRATCH
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"console-{name}.png"
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    with window(driver, DESKTOP[0], max(DESKTOP[1], min(height, 4000))):
        driver.execute_script("document.activeElement && document.activeElement.blur()")
        path.write_bytes(driver.get_screenshot_as_png())
    return path


def swap_repeatedly(driver: WebDriver, *, url: str, target: str, times: int) -> int:
    """Have htmx fetch `url` and swap it over `target` (outerHTML, out-of-band parts too)
    `times` times in a row, as its polling would over `times` periods; the number of
    answers htmx saw."""
    driver.set_script_timeout(max(30, times / 10))
    return cast(
        int,
        driver.execute_async_script(
            """
            const [url, target, times, done] = arguments;
            let swapped = 0;
            const count = () => { swapped += 1; };
            document.body.addEventListener("htmx:afterRequest", count);
            (async () => {
              for (let i = 0; i < times; i++) {
                await htmx.ajax("GET", url, {target: target, swap: "outerHTML"});
              }
              document.body.removeEventListener("htmx:afterRequest", count);
              const busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added";
              while (document.querySelector(busy)) {  // until the last swap has settled
                await new Promise(requestAnimationFrame);
              }
              done(swapped);
            })();
            """,
            url,
            target,
            times,
        ),
    )
