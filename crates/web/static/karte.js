// Quartier: the interactive map (MapLibre GL JS, vendored). Progressive enhancement of the
// server-side SVG map on /karte: geometry comes as vector tiles (/karte/kacheln/EBENE/z/x/y),
// what is shown as a small JSON (/karte/werte?…) applied by feature state, so switching the
// year reloads no geometry. Without JavaScript (and in print) the SVG map stays.
import * as maplibregl from "/static/maplibre-gl.mjs";

const box = document.getElementById("karte-interaktiv");
if (box && supported()) start(box);

function supported() {
  try {
    const c = document.createElement("canvas");
    return !!(c.getContext("webgl2") || c.getContext("webgl"));
  } catch (e) {
    return false;
  }
}

function start(box) {
  const figure = box.closest("figure");
  const level = box.dataset.ebene;
  const parent = box.dataset.oben || null;
  const basemap = box.dataset.grundkarte || "";
  const announce = document.getElementById("karte-ansage");
  const tip = document.getElementById("karte-tooltip");
  let query = new URLSearchParams(box.dataset.werte.split("?")[1] || "");
  // The values are asked for at once, while the map library starts and the tiles load.
  let early = fetch(box.dataset.werte, { headers: { Accept: "application/json" } });
  let values = null;
  let selected = null; // key of the area chosen by keyboard
  let comparison = [];
  // A year before a boundary change is shown on the areas of then: its tiles name the set.
  let stand = box.dataset.gebietsstand || null;
  const tileUrl = (l, s) => location.origin + "/karte/kacheln/" + encodeURIComponent(l) + "/{z}/{x}/{y}.pbf" + (s ? "?gebietsstand=" + s : "");
  const style = { version: 8, sources: {}, layers: [] };
  const raster = basemap && basemap.includes("{z}");
  if (raster) {
    style.sources.grundkarte = { type: "raster", tiles: [basemap], tileSize: 256, attribution: box.dataset.grundkarteQuelle || "" };
    style.layers.push({ id: "grundkarte", type: "raster", source: "grundkarte" });
  }
  box.hidden = false;
  figure.classList.add("interaktiv");
  const map = new maplibregl.Map({
    container: box.querySelector(".karte-flaeche"),
    style: basemap && !raster ? basemap : style,
    bounds: box.dataset.grenzen ? JSON.parse(box.dataset.grenzen) : undefined,
    fitBoundsOptions: { padding: 16 },
    attributionControl: { compact: false },
    dragRotate: false,
    // A level too large for the page's own SVG prints from the canvas.
    preserveDrawingBuffer: !figure.querySelector("svg.karte-svg"),
    pitchWithRotate: false,
    maxZoom: 19,
  });
  map.touchZoomRotate.disableRotation();
  map.keyboard.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  const canvas = map.getCanvas();
  canvas.setAttribute("aria-label", "Interaktive Karte: Pfeiltasten verschieben, Plus und Minus zoomen, N und P wählen ein Gebiet, Eingabe öffnet sein Profil, V nimmt es in den Vergleich");
  canvas.setAttribute("aria-describedby", "karte-hilfe");
  const opacity = basemap ? 0.7 : 1;

  map.on("load", () => {
    map.addSource("gebiete", { type: "vector", tiles: [tileUrl(level, stand)], maxzoom: 16, promoteId: "key" });
    map.addLayer({
      id: "flaeche", type: "fill", source: "gebiete", "source-layer": "gebiete",
      paint: { "fill-color": ["coalesce", ["feature-state", "farbe"], "#f2f2f2"], "fill-opacity": opacity },
    });
    map.addLayer({
      id: "grenze", type: "line", source: "gebiete", "source-layer": "gebiete",
      paint: { "line-color": "#6b6b70", "line-width": ["interpolate", ["linear"], ["zoom"], 8, 0.2, 14, 0.8] },
    });
    map.addLayer({
      id: "lisa", type: "line", source: "gebiete", "source-layer": "gebiete",
      paint: {
        "line-color": ["match", ["coalesce", ["feature-state", "lisa"], ""], "HH", "#b2182b", "HL", "#b2182b", "LL", "#2166ac", "LH", "#2166ac", "rgba(0,0,0,0)"],
        "line-width": 2.5,
      },
    });
    map.addLayer({
      id: "auswahl", type: "line", source: "gebiete", "source-layer": "gebiete",
      paint: {
        "line-color": "#000",
        "line-width": ["case", ["boolean", ["feature-state", "hover"], false], 3, ["boolean", ["feature-state", "gewaehlt"], false], 3, 0],
      },
    });
    if (parent) {
      map.addSource("oben", { type: "vector", tiles: [tileUrl(parent, stand)], maxzoom: 16 });
      map.addLayer({ id: "oben", type: "line", source: "oben", "source-layer": "gebiete", paint: { "line-color": "#222", "line-width": 1.6 } });
    }
    load(query);
  });
  // Feature state is kept by the source per area: tiles arriving later take it without
  // being painted again.

  async function load(q) {
    const res = early ? await early : await fetch("/karte/werte?" + q.toString(), { headers: { Accept: "application/json" } });
    early = null;
    if (!res.ok) return;
    values = await res.json();
    // Another year on another boundary set: that set's geometry (only then).
    if ((values.gebietsstand || null) !== stand && map.getSource("gebiete")) {
      stand = values.gebietsstand || null;
      map.getSource("gebiete").setTiles([tileUrl(level, stand)]);
      if (map.getSource("oben")) map.getSource("oben").setTiles([tileUrl(parent, stand)]);
    }
    // Per area: name, class and the tooltip, put together as the server's table and SVG map
    // label it (name: value unit · Klasse c · Rang r von n · Gesamt x unit).
    values.areas = {};
    values.keys.forEach((key, i) => {
      const area = { n: values.names[i], c: values.classes[i] };
      Object.defineProperty(area, "t", { get: () => tooltip(i) });
      values.areas[key] = area;
    });
    const many = values.keys.length > 5000;
    if (many && map.getLayer("flaeche")) {
      // Tens of thousands of small areas: no outline per polygon, and area borders and the
      // hover/selection outline only once zoomed in, where they can be seen (each line layer
      // over every area costs every frame, drawn or not); the classes' colours carry the city
      // view, the tooltip and the announcement still name the area.
      map.setPaintProperty("flaeche", "fill-antialias", false);
      map.setLayerZoomRange("grenze", Math.floor(map.getZoom()) + 2, 24);
      map.setLayerZoomRange("auswahl", Math.floor(map.getZoom()) + 2, 24);
    }
    // The hot-spot outlines are drawn only when asked for: an invisible line layer over tens
    // of thousands of areas still costs every frame.
    if (map.getLayer("lisa")) map.setLayoutProperty("lisa", "visibility", values.lisa ? "visible" : "none");
    query = q;
    paint();
    legend();
    years();
    search();
    box.dataset.jahr = values.year;
    box.dataset.geladen = "1";
    box.dispatchEvent(new CustomEvent("werte"));
  }

  function tooltip(i) {
    const v = values;
    let t = v.names[i] + ": " + v.texts[i] + v.unit;
    if (v.classes[i]) t += " · Klasse " + v.classes[i];
    if (v.ranks[i]) t += " · Rang " + v.ranks[i] + " von " + v.with_value;
    if (v.reference !== null && v.ranks[i]) t += " · Gesamt " + v.reference + v.unit;
    return t;
  }

  function paint() {
    const colors = {};
    for (const l of values.legend) colors[l.class] = l.color;
    for (const [key, a] of Object.entries(values.areas)) {
      map.setFeatureState(
        { source: "gebiete", sourceLayer: "gebiete", id: key },
        { farbe: a.c ? colors[a.c] : null, klasse: a.c || 0, lisa: values.lisa ? values.lisa[key] || "" : "" },
      );
    }
  }

  // Legend: hovering (or focusing) a class highlights its areas.
  function legend() {
    const list = figure.querySelector("ul.legend");
    if (!list) return;
    list.querySelectorAll("li[data-klasse]").forEach((li) => {
      li.tabIndex = 0;
      const on = () => highlightClass(parseInt(li.dataset.klasse, 10));
      const off = () => highlightClass(null);
      li.addEventListener("mouseenter", on);
      li.addEventListener("mouseleave", off);
      li.addEventListener("focus", on);
      li.addEventListener("blur", off);
    });
  }
  function highlightClass(c) {
    if (!map.getLayer("flaeche")) return;
    if (c === null) {
      map.setPaintProperty("flaeche", "fill-opacity", opacity);
      return;
    }
    map.setPaintProperty("flaeche", "fill-opacity", ["case", ["==", ["feature-state", "klasse"], c], opacity, 0.15]);
  }

  // Years: stepped and played without reloading geometry; the table beside follows.
  function years() {
    const nav = document.querySelector("nav.years");
    if (!nav || nav.dataset.interaktiv) return;
    nav.dataset.interaktiv = "1";
    nav.addEventListener("click", (e) => {
      const a = e.target.closest("a[href]");
      if (!a) return;
      const y = new URL(a.href, location.href).searchParams.get("year");
      if (!y) return;
      e.preventDefault();
      showYear(y);
    });
    const play = document.getElementById("karte-abspielen");
    if (play) {
      play.hidden = false;
      let timer = null;
      play.addEventListener("click", () => {
        if (timer) {
          clearInterval(timer);
          timer = null;
          play.textContent = "▶ Jahre abspielen";
          return;
        }
        play.textContent = "■ Anhalten";
        timer = setInterval(() => {
          const ys = values.years;
          const i = ys.indexOf(values.year);
          if (i < 0 || i + 1 >= ys.length) {
            clearInterval(timer);
            timer = null;
            play.textContent = "▶ Jahre abspielen";
            return;
          }
          showYear(String(ys[i + 1]));
        }, 1500);
      });
    }
  }
  async function showYear(y) {
    const q = new URLSearchParams(query);
    q.set("year", y);
    const page = fetch("/karte?" + q.toString()).then((r) => r.text());
    await load(q);
    history.replaceState(null, "", "/karte?" + q.toString());
    // The page's own parts for the new year (title, years, legend, table), from the server.
    const doc = new DOMParser().parseFromString(await page, "text/html");
    for (const sel of ["main h1", "main p.lead", "nav.years", "figure.map figcaption", "section.tablebox"]) {
      const now = document.querySelector(sel), next = doc.querySelector(sel);
      if (now && next) now.replaceWith(document.adoptNode(next));
    }
    const select = document.querySelector("form.controls select[name=year]");
    if (select) select.value = y;
    years();
    legend();
    say(values.title);
  }

  // Hover and focus: the area's name, value with unit, class and rank.
  let hovered = null;
  function setHover(key) {
    if (hovered === key) return;
    if (hovered) map.setFeatureState({ source: "gebiete", sourceLayer: "gebiete", id: hovered }, { hover: false });
    hovered = key;
    if (key) map.setFeatureState({ source: "gebiete", sourceLayer: "gebiete", id: key }, { hover: true });
  }
  map.on("mousemove", "flaeche", (e) => {
    const f = e.features && e.features[0];
    if (!f || !values) return;
    const key = f.properties.key;
    setHover(key);
    const a = values.areas[key];
    tip.textContent = a ? a.t : key;
    tip.hidden = false;
    tip.style.left = e.originalEvent.clientX + 14 + "px";
    tip.style.top = e.originalEvent.clientY + 14 + "px";
    map.getCanvas().style.cursor = "pointer";
  });
  map.on("mouseleave", "flaeche", () => {
    setHover(null);
    tip.hidden = true;
    map.getCanvas().style.cursor = "";
  });
  // Click opens the profile; with Shift the area goes into the comparison instead.
  map.on("click", "flaeche", (e) => {
    const f = e.features && e.features[0];
    if (!f) return;
    if (e.originalEvent.shiftKey) compare(f.properties.key);
    else location.href = "/gebiet/" + encodeURIComponent(f.properties.key) + "?ebene=" + encodeURIComponent(level);
  });

  // Keyboard: N/P choose the next/previous area in view (west to east, north to south), its
  // values are announced; Enter opens its profile; V adds it to the comparison.
  canvas.addEventListener("keydown", (e) => {
    if (!values) return;
    const k = e.key.toLowerCase();
    if (k === "n" || k === "p") {
      const seen = new Map();
      for (const f of map.queryRenderedFeatures({ layers: ["flaeche"] })) {
        const key = f.properties.key;
        if (!seen.has(key)) seen.set(key, map.project(center(f.geometry)));
      }
      const order = [...seen.entries()].sort((a, b) => Math.round(a[1].y / 40) - Math.round(b[1].y / 40) || a[1].x - b[1].x).map(([key]) => key);
      if (!order.length) return;
      let i = order.indexOf(selected);
      i = k === "n" ? (i + 1) % order.length : (i <= 0 ? order.length - 1 : i - 1);
      choose(order[i]);
      e.preventDefault();
    } else if (e.key === "Enter" && selected) {
      location.href = "/gebiet/" + encodeURIComponent(selected) + "?ebene=" + encodeURIComponent(level);
    } else if (k === "v" && selected) {
      compare(selected);
    }
  });
  function choose(key) {
    if (selected) map.setFeatureState({ source: "gebiete", sourceLayer: "gebiete", id: selected }, { gewaehlt: false });
    selected = key;
    map.setFeatureState({ source: "gebiete", sourceLayer: "gebiete", id: key }, { gewaehlt: true });
    const a = values.areas[key];
    say(a ? a.t : key);
  }
  function center(g) {
    const ring = g.type === "Polygon" ? g.coordinates[0] : g.coordinates[0][0];
    let x = 0, y = 0;
    for (const p of ring) { x += p[0]; y += p[1]; }
    return [x / ring.length, y / ring.length];
  }
  function say(text) {
    announce.textContent = "";
    setTimeout(() => { announce.textContent = text; }, 30);
  }

  // The comparison: areas picked on the map, opened together on /vergleich.
  function compare(key) {
    if (!comparison.includes(key)) comparison.push(key);
    const out = document.getElementById("karte-vergleich");
    out.hidden = false;
    const link = out.querySelector("a");
    link.href = "/vergleich?ebene=" + encodeURIComponent(level) + "&gebiete=" + comparison.map(encodeURIComponent).join(",");
    link.textContent = "Vergleichen (" + comparison.length + " Gebiete)";
    const a = values.areas[key];
    say((a ? a.n : key) + " im Vergleich, " + comparison.length + " Gebiete");
  }

  // Search: an area by name or key, the map zooms to it.
  function search() {
    const input = document.getElementById("karte-suche");
    const list = document.getElementById("karte-gebiete");
    if (!input || input.dataset.bereit) return;
    input.dataset.bereit = "1";
    input.closest("form").hidden = false;
    // Suggestions while typing; for very many areas the name or key is looked up on submit.
    if (values.keys.length <= 5000) {
      list.replaceChildren(...Object.entries(values.areas).map(([k, a]) => {
        const o = document.createElement("option");
        o.value = a.n + " (" + k + ")";
        return o;
      }));
    }
    input.closest("form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      const m = text.match(/\(([^()]+)\)$/);
      let key = m ? m[1] : null;
      if (!key) {
        const hit = Object.entries(values.areas).find(([k, a]) => k === text || a.n.toLowerCase() === text.toLowerCase());
        key = hit ? hit[0] : null;
      }
      if (!key || !values.areas[key]) {
        say("Kein Gebiet „" + text + "“ auf dieser Ebene");
        return;
      }
      const r = await fetch("/karte/gebiet/" + encodeURIComponent(level) + "/" + encodeURIComponent(key));
      if (!r.ok) return;
      const b = (await r.json()).bounds;
      map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, maxZoom: 16, duration: 0 });
      map.once("idle", () => choose(key));
      canvas.focus();
    });
  }

  // Offers as points, clustered where dense; switched on and off.
  const offers = document.getElementById("karte-angebote");
  if (offers) {
    offers.closest("label").hidden = false;
    offers.addEventListener("change", () => {
      if (!map.getSource("angebote")) {
        map.addSource("angebote", { type: "geojson", data: "/karte/angebote.geojson", cluster: true, clusterRadius: 40 });
        map.addLayer({ id: "angebote-haufen", type: "circle", source: "angebote", filter: ["has", "point_count"],
          paint: { "circle-color": "#1b7837", "circle-radius": ["step", ["get", "point_count"], 12, 10, 16, 50, 20], "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
        map.addLayer({ id: "angebote-punkt", type: "circle", source: "angebote", filter: ["!", ["has", "point_count"]],
          paint: { "circle-color": "#1b7837", "circle-radius": 5, "circle-stroke-color": "#fff", "circle-stroke-width": 1.5 } });
      }
      for (const id of ["angebote-haufen", "angebote-punkt"]) map.setLayoutProperty(id, "visibility", offers.checked ? "visible" : "none");
    });
  }
  window.quartierKarte = map;
}
