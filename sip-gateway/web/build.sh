#!/usr/bin/env bash
# Rebuilds dist/jssip.min.js, the JsSIP bundle the gateway embeds in its binary, and
# dist/THIRD-PARTY-LICENSES.txt, the licences of everything inside it. The versions
# are pinned in package.json and package-lock.json; after changing them run this and
# commit both files (cargo build never needs node).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
mkdir -p dist
version=$(node -p 'require("jssip/package.json").version')
npx esbuild jssip-entry.js --bundle --format=iife --global-name=JsSIP --minify \
  --target=es2019 --legal-comments=eof --metafile=dist/meta.json \
  "--banner:js=/* JsSIP ${version} (MIT, see THIRD-PARTY-LICENSES.txt), bundled by sip-gateway/web/build.sh; do not edit */" \
  --outfile=dist/jssip.min.js
# One licence per bundled package, from the metafile's inputs.
node - <<'JS'
const fs = require('fs');
const path = require('path');
const meta = JSON.parse(fs.readFileSync('dist/meta.json', 'utf8'));
const dirs = new Set();
for (const input of Object.keys(meta.inputs)) {
  const match = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//);
  if (match) dirs.add(match[1]);
}
let text = 'Third-party software in jssip.min.js\n';
for (const dir of [...dirs].sort()) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const file = fs.readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
  text += `\n===== ${pkg.name} ${pkg.version} (${pkg.license || 'see below'}) =====\n\n`;
  text += file ? fs.readFileSync(path.join(dir, file), 'utf8').trim() + '\n' : '(no licence file shipped)\n';
}
fs.writeFileSync('dist/THIRD-PARTY-LICENSES.txt', text);
fs.unlinkSync('dist/meta.json');
JS
echo "dist/jssip.min.js: $(wc -c <dist/jssip.min.js) bytes, jssip ${version}"
