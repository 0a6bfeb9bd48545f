// Validate an AsyncAPI document with the reference parser (@asyncapi/parser): schema, references
// and the spectral rules it runs. Usage: node validate.mjs FILE. Prints one JSON object
// {"errors": [...], "warnings": [...], "version": "..."}; exits 1 when there is an error.
import { readFile } from "node:fs/promises";
import { Parser } from "@asyncapi/parser";

const file = process.argv[2];
const parser = new Parser();
const { document, diagnostics } = await parser.parse(await readFile(file, "utf8"), {
  source: file,
});
const pick = (severity) =>
  diagnostics
    .filter((d) => d.severity === severity)
    .map((d) => ({ code: d.code, message: d.message, path: d.path.join(".") }));
const errors = pick(0);
const out = {
  errors,
  warnings: pick(1),
  version: document ? document.version() : null,
  channels: document ? document.channels().all().map((c) => c.address()) : [],
};
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(errors.length || !document ? 1 : 0);
