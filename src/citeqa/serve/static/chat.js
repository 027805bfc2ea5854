// Clicking a marker or a source link scrolls the source pane to the sentence and
// flashes it. The pane may still be re-rendering (older answer selected), so retry for up to 8 s (a loaded machine took over 3 s).
// Each newly shown answer scrolls the pane (not the page) to its citation [1].
() => {
  const paneTop = (el, pane) => el.getBoundingClientRect().top - pane.getBoundingClientRect().top + pane.scrollTop;
  const show = (id, tries) => {
    const el = document.getElementById(id);
    if (!el) { if (tries > 0) setTimeout(() => show(id, tries - 1), 100); return; }
    const pane = el.closest(".cq-pane");
    if (pane) {  // scroll inside the pane; move the page only if the pane is off screen
      pane.scrollTo({ top: paneTop(el, pane) - pane.clientHeight / 3, behavior: "smooth" });
      const box = pane.getBoundingClientRect();
      if (box.top < 0 || box.top > window.innerHeight * 0.6) pane.scrollIntoView({ block: "start", behavior: "smooth" });
    } else {
      el.scrollIntoView({ block: "center", behavior: "smooth" });
    }
    el.classList.remove("cq-flash"); void el.offsetWidth; el.classList.add("cq-flash");
    el.focus({ preventScroll: true });
  };
  // On a narrow screen the cited sentences are spelled out under each answer: when a reply
  // arrives, scroll the chat so the answer and its first cited sentence are on screen (the
  // chat's own auto-scroll would show the reply's end instead).
  const narrow = window.matchMedia("(max-width: 720px)");
  const seen = new WeakSet();
  let pending = null;
  const scroller = (el) => {
    for (let node = el.parentElement; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (/(auto|scroll)/.test(style.overflowY) && node.scrollHeight > node.clientHeight) return node;
    }
    return null;
  };
  // The chat may auto-scroll again as the reply finishes rendering (a slow machine sees it
  // late), so for a short while after a reply first shows, each change re-applies the scroll.
  const SETTLE_MS = 2000;
  let newestAt = null, newestEl = null;
  const revealNewest = () => {
    const replies = document.querySelectorAll("#cq-chat .cq-narrow");
    const newest = replies[replies.length - 1];
    if (!newest) return;
    if (newest !== newestEl) {
      if (seen.has(newest)) return;
      seen.add(newest);
      newestEl = newest;
      newestAt = Date.now();
      [300, 800, 1500].forEach((ms) => setTimeout(revealNewest, ms));
    } else if (Date.now() - newestAt > SETTLE_MS) {
      return;
    }
    const reply = newest.closest(".message, .bot") || newest.parentElement;
    const box = scroller(reply);
    if (!box) return;
    const offset = reply.getBoundingClientRect().top - box.getBoundingClientRect().top;
    box.scrollTo({ top: box.scrollTop + offset - 8 });
  };
  // A new source pane (a new answer, or an older one selected) opens at its first cited
  // sentence: the pane scrolls inside itself; the page does not move.
  const panes = new WeakSet();
  const openPane = () => {
    const pane = document.getElementById("cq-pane");
    const first = pane && pane.querySelector(".cq-cite");
    if (!first || panes.has(pane)) return;
    panes.add(pane);
    const top = first.getBoundingClientRect().top - pane.getBoundingClientRect().top + pane.scrollTop;
    pane.scrollTo({ top: Math.max(0, top - pane.clientHeight / 3) });
  };
  new MutationObserver(() => {
    clearTimeout(pending);
    pending = setTimeout(() => { openPane(); if (narrow.matches) revealNewest(); }, 300);
  }).observe(document.body, { childList: true, subtree: true });
  // "Did you mean: X" under an abstention: clicking X asks it (typed into the box, then sent).
  document.addEventListener("click", (event) => {
    const offer = event.target.closest && event.target.closest("a.cq-respelled");
    if (!offer) return;
    event.preventDefault();
    const box = document.querySelector("#cq-question textarea");
    if (!box) return;
    Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, "value").set.call(box, offer.textContent);
    box.dispatchEvent(new Event("input", { bubbles: true }));
    const send = document.querySelector("#cq-question button.submit-button");
    if (send) setTimeout(() => send.click(), 0);  // after the box's own input handler has run
  }, true);
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("a[href^='#cq-']");
    if (!link) return;
    event.preventDefault();
    show(link.getAttribute("href").slice(1), 80);
  }, true);
  let shown = "";
  const toFirst = () => {
    const pane = document.querySelector(".cq-pane[data-answer]");
    if (!pane || pane.dataset.answer === shown) return;
    const first = document.getElementById(`cq-${pane.dataset.answer}-1`);
    if (!first || !pane.contains(first) || pane.clientHeight === 0) return;
    shown = pane.dataset.answer;
    pane.scrollTop = Math.max(0, paneTop(first, pane) - pane.clientHeight / 3);
  };
  new MutationObserver(toFirst).observe(document.body, { childList: true, subtree: true });
}
