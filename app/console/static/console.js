// The console's own script (no inline scripts: the Content-Security-Policy allows only
// files served by the app). Two jobs, both re-run after every htmx swap:
//  - times: a <time datetime="…"> rendered in UTC is shown in the visitor's own zone; its
//    title keeps the UTC value, shown on hover;
//  - copy: a <button data-copy="#id"> copies that element's text and says so.
(function () {
  "use strict";
  const format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  });

  function localTimes(root) {
    for (const el of root.querySelectorAll("time[datetime]:not([data-local])")) {
      const when = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(when.getTime())) continue;
      if (!el.title) el.title = el.textContent.trim();
      el.textContent = format.format(when);
      el.dataset.local = "1";
    }
  }

  async function copy(button) {
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    const text = source.value !== undefined && source.tagName !== "BUTTON"
      ? source.value : source.textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
    } catch (refused) {  // no clipboard API (plain HTTP off localhost): select it instead
      const range = document.createRange();
      range.selectNodeContents(source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 2000);
  }

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy]");
    if (button) copy(button);
  });
  document.addEventListener("DOMContentLoaded", function () { localTimes(document); });
  document.addEventListener("htmx:afterSettle", function (event) { localTimes(event.target); });
})();
