// The review pages: press-and-hold reveal, keyboard shortcuts, the job page's live progress.
// No inline script anywhere (the Content-Security-Policy forbids it): this file finds its
// elements by class and data- attributes.
//
// Media is blurred and grey by the style sheet, on top of a thumbnail already blurred by the
// server. Revealing fetches /item/ID/media (audited by the server, never cached) as a blob
// and shows it while the button or Space is held (600 ms to start, so a stray press shows
// nothing), or until the per-item toggle is pressed again. Letting go, leaving the page,
// hiding it or switching to another window blurs again and revokes the blob.
"use strict";
(function () {
  var HOLD_MS = 600;
  var root = document.querySelector(".review");
  var all = [];

  function Media(figure) {
    this.figure = figure;
    this.img = figure.querySelector("img");
    this.thumb = this.img ? this.img.getAttribute("src") : null;
    this.note = figure.querySelector(".media-note");
    this.toggle = figure.querySelector(".reveal-toggle");
    this.url = null;
    this.timer = null;
    this.wanted = false;
    this.pinned = false;
    var self = this;
    if (this.img) {
      this.img.addEventListener("error", function () {
        if (self.img.getAttribute("src") === self.thumb) {
          figure.classList.add("no-media");
          self.say("No preview: the picture could not be read or was not kept.");
        }
      });
    }
    var hold = figure.querySelector(".reveal-hold");
    if (hold) {
      hold.addEventListener("pointerdown", function (event) {
        event.preventDefault();
        if (hold.setPointerCapture) hold.setPointerCapture(event.pointerId);
        self.startHold();
      });
      ["pointerup", "pointercancel", "lostpointercapture"].forEach(function (name) {
        hold.addEventListener(name, function () { self.endHold(); });
      });
      hold.addEventListener("keydown", function (event) {
        if ((event.key === " " || event.key === "Enter") && !event.repeat) {
          event.preventDefault();
          event.stopPropagation();
          self.startHold();
        }
      });
      hold.addEventListener("keyup", function (event) {
        if (event.key === " " || event.key === "Enter") {
          event.preventDefault();
          event.stopPropagation();
          self.endHold();
        }
      });
      hold.addEventListener("click", function (event) { event.preventDefault(); });
      hold.addEventListener("contextmenu", function (event) { event.preventDefault(); });
    }
    if (this.toggle) {
      this.toggle.addEventListener("click", function () {
        if (self.pinned) { self.hide(); return; }
        self.pinned = true;
        self.toggle.setAttribute("aria-pressed", "true");
        self.toggle.textContent = "Blur again";
        self.wanted = true;
        self.reveal();
      });
    }
  }

  Media.prototype.say = function (text) {
    if (this.note) this.note.textContent = text;
  };

  Media.prototype.startHold = function () {
    var self = this;
    if (this.wanted || !this.img) return;
    this.wanted = true;
    this.figure.classList.add("holding");
    this.say("Keep holding to reveal…");
    this.timer = window.setTimeout(function () { self.timer = null; self.reveal(); }, HOLD_MS);
  };

  Media.prototype.endHold = function () {
    if (!this.pinned) this.hide();
  };

  Media.prototype.reveal = function () {
    var self = this;
    if (!this.wanted || !this.img) return;
    this.say("Loading…");
    fetch(this.figure.dataset.media, { credentials: "same-origin", cache: "no-store" })
      .then(function (answer) {
        if (!answer.ok) throw new Error("the picture could not be shown (HTTP " + answer.status + ")");
        return answer.blob();
      })
      .then(function (blob) {
        if (!self.wanted) return; // let go while it loaded: show nothing
        self.url = URL.createObjectURL(blob);
        self.img.src = self.url;
        self.figure.classList.add("revealed");
        self.figure.classList.remove("holding");
        self.say(self.pinned ? "Revealed until you press “Blur again”." : "Revealed while held.");
      })
      .catch(function (error) {
        self.hide();
        self.say(String(error.message || error));
      });
  };

  Media.prototype.hide = function () {
    if (this.timer !== null) { window.clearTimeout(this.timer); this.timer = null; }
    this.wanted = false;
    this.pinned = false;
    this.figure.classList.remove("revealed", "holding");
    if (this.toggle) {
      this.toggle.setAttribute("aria-pressed", "false");
      this.toggle.textContent = "Reveal";
    }
    if (this.img && this.thumb && this.img.getAttribute("src") !== this.thumb) this.img.src = this.thumb;
    if (this.url) { URL.revokeObjectURL(this.url); this.url = null; }
    this.say("");
  };

  function hideAll() { all.forEach(function (m) { m.hide(); }); }

  document.querySelectorAll("figure.media").forEach(function (figure) {
    var media = new Media(figure);
    figure.needleMedia = media;
    all.push(media);
  });
  window.addEventListener("pagehide", hideAll);
  window.addEventListener("beforeunload", hideAll);
  window.addEventListener("blur", hideAll);
  document.addEventListener("visibilitychange", function () { if (document.hidden) hideAll(); });

  // -- keyboard -------------------------------------------------------------------------------

  var page = root ? root.dataset.page : null;
  var cards = Array.prototype.slice.call(document.querySelectorAll(".queue .card"));
  var selected = -1;
  var spaceHeld = null;

  function select(index) {
    if (!cards.length) return;
    index = Math.max(0, Math.min(cards.length - 1, index));
    if (selected >= 0 && cards[selected]) {
      cards[selected].classList.remove("selected");
      var old = cards[selected].querySelector("figure.media");
      if (old && old.needleMedia) old.needleMedia.hide();
    }
    selected = index;
    cards[index].classList.add("selected");
    var link = cards[index].querySelector("a.open");
    if (link) link.focus({ preventScroll: true });
    cards[index].scrollIntoView({ block: "nearest" });
  }

  function currentMedia() {
    if (page === "item") {
      var figure = document.querySelector(".picture figure.media");
      return figure ? figure.needleMedia : null;
    }
    if (selected < 0) select(0);
    var card = cards[selected];
    var inCard = card ? card.querySelector("figure.media") : null;
    return inCard ? inCard.needleMedia : null;
  }

  function typing(target) {
    var tag = target && target.tagName ? target.tagName.toLowerCase() : "";
    return tag === "input" || tag === "textarea" || tag === "select" || (target && target.isContentEditable);
  }

  function toggleHelp() {
    var help = document.getElementById("shortcuts");
    if (help) help.open = !help.open;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var key = event.key;
    if (key === " ") {
      if (event.target && event.target.closest && event.target.closest("button, a, summary")) {
        if (!event.target.closest("a.open")) return;
      }
      event.preventDefault();
      if (event.repeat || spaceHeld) return;
      spaceHeld = currentMedia();
      if (spaceHeld) spaceHeld.startHold();
      return;
    }
    if (key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (key === "Escape") { hideAll(); var help = document.getElementById("shortcuts"); if (help) help.open = false; return; }
    if (page === "queue") {
      if (key === "j") { event.preventDefault(); select(selected + 1); }
      else if (key === "k") { event.preventDefault(); select(selected < 0 ? 0 : selected - 1); }
      else if ((key === "Enter" || key === "o") && selected >= 0 && !event.target.closest("a, button")) {
        window.location.assign(cards[selected].dataset.href);
      }
      return;
    }
    if (page === "item") {
      if (key === "j" && root.dataset.next) { hideAll(); window.location.assign(root.dataset.next); }
      else if (key === "k" && root.dataset.prev) { hideAll(); window.location.assign(root.dataset.prev); }
      else if (key === "n") {
        var note = document.querySelector(".decision-form textarea");
        if (note) { event.preventDefault(); note.focus(); }
      } else if (/^[1-5]$/.test(key)) {
        var choice = document.querySelector('.decision-form input[data-key="' + key + '"]');
        if (choice) {
          event.preventDefault();
          choice.checked = true;
          var submit = document.querySelector(".decision-form button[type=submit]");
          if (submit) submit.focus();
        }
      }
    }
  });

  document.addEventListener("keyup", function (event) {
    if (event.key === " " && spaceHeld) {
      event.preventDefault();
      spaceHeld.endHold();
      spaceHeld = null;
    }
  });

  cards.forEach(function (card, index) {
    card.addEventListener("focusin", function () {
      if (selected !== index) {
        if (selected >= 0 && cards[selected]) cards[selected].classList.remove("selected");
        selected = index;
        card.classList.add("selected");
      }
    });
  });

  // -- the job page ---------------------------------------------------------------------------

  var job = document.getElementById("job-progress");
  function field(data, path) {
    var value = data;
    path.split(".").forEach(function (part) {
      value = value !== null && typeof value === "object" && part in value ? value[part] : undefined;
    });
    if (value === undefined && data && typeof data.summary === "object") return field(data.summary, path);
    if (value === undefined && data && typeof data.progress === "object") return field(data.progress, path);
    return value;
  }
  function poll() {
    fetch(job.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (!data) return; // no JSON job endpoint: the page keeps what the server rendered
        job.querySelectorAll("[data-field]").forEach(function (el) {
          var value = field(data, el.dataset.field);
          if (value === undefined || value === null) return;
          el.textContent = typeof value === "number" ? value.toLocaleString("en") : String(value);
        });
        var status = field(data, "status");
        if (status) job.dataset.status = String(status);
        if (status === "running") window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  if (job && job.dataset.status === "running") window.setTimeout(poll, 2000);
})();
