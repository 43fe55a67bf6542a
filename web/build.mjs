// Build the dashboard into ecotrack/services/web/static (committed, so `pip install` needs no npm).
//
//   npm ci && npm run build     rebuild (also: `make web` at the top of the repository)
//   npm run check               exit 1 when the committed files differ from a fresh build
//
// Output: index.html (from src/index.html, pointing at the hashed bundle names), assets/app-HASH.js and
// assets/app-HASH.css (our code + uPlot, minified), favicon.svg, docs/ (Swagger UI for /docs, from the
// swagger-ui-dist package) and build-info.json, which records a hash of every source file so the Python
// tests can tell that the committed bundle matches the sources without needing npm.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, "..", "ecotrack", "services", "web", "static");
const check = process.argv.includes("--check");

/** Files whose content decides the build, relative to web/ (sorted, '/'-separated). */
function sourceFiles() {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(join(here, dir)).sort()) {
      const rel = dir ? `${dir}/${name}` : name;
      if (statSync(join(here, rel)).isDirectory()) walk(rel);
      else out.push(rel);
    }
  };
  walk("src");
  out.push("build.mjs", "package.json", "package-lock.json");
  return out.sort();
}

/** sha256 over "path\0content\0" of every source file; tests/web/test_bundle.py computes the same. */
function sourcesHash() {
  const h = createHash("sha256");
  for (const rel of sourceFiles()) {
    h.update(rel + "\0");
    h.update(readFileSync(join(here, rel)));
    h.update("\0");
  }
  return h.digest("hex");
}

async function build(dest) {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(join(dest, "assets"), { recursive: true });
  const result = await esbuild.build({
    entryPoints: { app: join(here, "src", "main.js") },
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020"],
    outdir: join(dest, "assets"),
    entryNames: "[name]-[hash]",
    metafile: true,
    legalComments: "linked",
    logLevel: "warning",
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => relative(dest, p).split("\\").join("/"));
  const js = outputs.find((p) => p.endsWith(".js"));
  const css = outputs.find((p) => p.endsWith(".css"));
  const html = readFileSync(join(here, "src", "index.html"), "utf8")
    .replace("{{APP_JS}}", js)
    .replace("{{APP_CSS}}", css);
  writeFileSync(join(dest, "index.html"), html);
  copyFileSync(join(here, "src", "favicon.svg"), join(dest, "favicon.svg"));
  mkdirSync(join(dest, "docs"));
  const swagger = join(here, "node_modules", "swagger-ui-dist");
  for (const f of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"]) copyFileSync(join(swagger, f), join(dest, "docs", f));
  copyFileSync(join(here, "node_modules", "uplot", "LICENSE"), join(dest, "assets", "uplot-LICENSE.txt"));
  const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
  const version = (name) => lock.packages[`node_modules/${name}`]?.version ?? null;
  const info = {
    sources_sha256: sourcesHash(),
    sources: sourceFiles(),
    app_js: js,
    app_css: css,
    esbuild: version("esbuild"),
    uplot: version("uplot"),
    "swagger-ui-dist": version("swagger-ui-dist"),
  };
  writeFileSync(join(dest, "build-info.json"), JSON.stringify(info, null, 2) + "\n");
  return info;
}

/** Every file under dir, relative, with its bytes. */
function snapshot(dir) {
  const files = new Map();
  const walk = (rel) => {
    for (const name of readdirSync(join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(join(dir, r)).isDirectory()) walk(r);
      else files.set(r, readFileSync(join(dir, r)));
    }
  };
  walk("");
  return files;
}

if (check) {
  const tmp = mkdtempSync(join(tmpdir(), "ecotrack-web-"));
  await build(tmp);
  const fresh = snapshot(tmp);
  const committed = snapshot(outDir);
  const differ = [...new Set([...fresh.keys(), ...committed.keys()])].filter(
    (k) => !fresh.has(k) || !committed.has(k) || !fresh.get(k).equals(committed.get(k)),
  );
  rmSync(tmp, { recursive: true, force: true });
  if (differ.length) {
    console.error(`ecotrack/services/web/static is out of date (${differ.join(", ")}): run make web and commit`);
    process.exit(1);
  }
  console.log("ecotrack/services/web/static is up to date");
} else {
  const info = await build(outDir);
  console.log(`built ${info.app_js} and ${info.app_css} into ${relative(process.cwd(), outDir) || "."}`);
}
