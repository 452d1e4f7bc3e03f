// Bundles our bpmn-js wrappers (src/) with esbuild into plugin/static/vendor/ (gitignored):
//   bpmn-viewer.js  + bpmn-viewer.css   window.XinYiPiBpmn        (NavigatedViewer, step markers)
//   bpmn-modeler.js + bpmn-modeler.css  window.XinYiPiBpmnModeler (Modeler + properties panel, Camunda)
// Run after `npm ci --no-audit --no-fund`; `make run` and `make test` do both when needed.
// Same inputs give the same bytes: no timestamps, no absolute paths in the output.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, '..', 'plugin', 'static', 'vendor');

await rm(outdir, { recursive: true, force: true });
await mkdir(outdir, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: {
    'bpmn-viewer': 'src/viewer.js',
    'bpmn-modeler': 'src/modeler.js',
  },
  outdir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  legalComments: 'eof',   // keep the third-party licence notices in the bundle
  charset: 'utf8',        // our Chinese strings stay readable in the output
  // the bpmn font's legacy formats (the modeler's CSS embeds the woff itself)
  loader: { '.json': 'json', '.eot': 'file', '.svg': 'file', '.ttf': 'file', '.woff': 'file', '.woff2': 'file' },
  assetNames: 'fonts/[name]-[hash]',
  define: { 'process.env.NODE_ENV': '"production"' },
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.entries(result.metafile.outputs)
  .map(([file, meta]) => `${relative(outdir, join(here, file))} ${meta.bytes}`)
  .sort();
const versions = {};
for (const name of ['bpmn-js', 'bpmn-js-properties-panel', '@bpmn-io/properties-panel',
  'camunda-bpmn-moddle', 'camunda-bpmn-js-behaviors', 'esbuild']) {
  const { default: pkg } = await import(`${name}/package.json`, { with: { type: 'json' } });
  versions[name] = pkg.version;
}
await writeFile(join(outdir, 'versions.json'), JSON.stringify(versions, null, 2) + '\n');
console.log(`built ${relative(join(here, '..'), outdir)}/: ${outputs.join(', ')}`);
