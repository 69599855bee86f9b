// Parse Mermaid blocks with Mermaid's own parser, all in one process.
// stdin: a JSON array of diagram texts; stdout: a JSON array, null for a valid block or the
// parser's first error line. Mermaid needs a DOM even to parse (DOMPurify), so jsdom provides one
// before mermaid is imported.
import { JSDOM } from "jsdom";

const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    await mermaid.parse(text);
    results.push(null);
  } catch (error) {
    results.push(String(error?.message ?? error).split("\n").slice(0, 4).join(" | "));
  }
}
process.stdout.write(JSON.stringify(results));
