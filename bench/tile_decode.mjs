// What a vector-tile map would cost the browser's JavaScript before drawing anything: decode
// the raw-point tiles of one view (bench/tile_formats.py --dump DIR) and cluster the points
// client-side, timed in Node's V8 (Chromium's engine). Drawing is not included: the
// clusters would still become DOM markers (keyboard and screen-reader names) or be painted
// to a canvas without them.
//
// The packages are installed for this bench only, outside the project (not in
// package.json, never shipped):
//
//   mkdir -p /tmp/tilebench && cd /tmp/tilebench && npm init -y
//   npm install @mapbox/vector-tile@3.0.0 pbf@4 supercluster@8
//   node bench/tile_decode.mjs /tmp/tilebench DIR/view1-zoom10 [runs]

import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [packages, folder, runsArgument] = process.argv.slice(2);
const runs = Number(runsArgument || 3);
const load = (path) => import(pathToFileURL(join(packages, "node_modules", path)).href);
const { VectorTile } = await load("@mapbox/vector-tile/index.js");
const { default: Pbf } = await load("pbf/index.js");
const { default: Supercluster } = await load("supercluster/index.js");

const files = readdirSync(folder).filter((name) => name.endsWith(".mvt"));
const mapZoom = Number(folder.match(/zoom(\d+)/)[1]);
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];

const decodeTimes = [];
const clusterTimes = [];
let points = [];
let bytes = 0;
let clusters = 0;
for (let run = 0; run < runs; run++) {
  points = [];
  bytes = 0;
  let started = performance.now();
  for (const name of files) {
    const [z, x, y] = name.replace(".mvt", "").split("-").map(Number);
    const data = readFileSync(join(folder, name));
    bytes += data.length;
    const layer = new VectorTile(new Pbf(data)).layers.markers;
    for (let i = 0; layer && i < layer.length; i++) {
      points.push(layer.feature(i).toGeoJSON(x, y, z));
    }
  }
  decodeTimes.push(performance.now() - started);
  started = performance.now();
  // 64 px cells on a 512 px tile, as the server's grid: a radius of 32 px at 256 px tiles.
  const index = new Supercluster({ radius: 32, maxZoom: 17 }).load(points);
  clusters = index.getClusters([-180, -85, 180, 85], mapZoom).length;
  clusterTimes.push(performance.now() - started);
}
console.log(
  `${folder}: ${files.length} tiles, ${bytes.toLocaleString("en")} bytes, ` +
    `${points.length.toLocaleString("en")} points -> ${clusters} clusters/markers at map zoom ` +
    `${mapZoom}; decode ${median(decodeTimes).toFixed(0)} ms, cluster ` +
    `${median(clusterTimes).toFixed(0)} ms (median of ${runs}, Node ${process.version})`,
);
