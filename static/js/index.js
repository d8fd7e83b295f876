/* Home: on a first start, say that the fast styles are being prepared and how far it got. */
(function () {
  "use strict";
  const box = document.getElementById("styles-preparing");
  if (!box) return;
  const text = document.getElementById("styles-preparing-text");
  let shown = false;

  async function check() {
    let state;
    try { state = await CV.api("GET", box.dataset.readyUrl); } catch (err) { setTimeout(check, 5000); return; }
    if (state.ready) {
      if (shown) {
        box.classList.replace("alert-info", "alert-success");
        box.querySelector("strong").textContent = "The fast styles are ready.";
        text.textContent = "";
        setTimeout(function () { box.hidden = true; }, 4000);
      }
      return;
    }
    shown = true;
    box.hidden = false;
    text.textContent = !state.networks_ready
      ? "On a first start the style worker converts the pretrained networks (a minute or two); classifying works already, and stylizations start as soon as they are ready."
      : "Preset thumbnails painted: " + state.thumbnails_ready.length + " of " + state.thumbnails_total +
        ". Stylizing works already; the gallery fills in as they arrive.";
    setTimeout(check, 2000);
  }
  check();
})();
