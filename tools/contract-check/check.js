// Reads docs/contract as a city engineer's tools do (issue 10 item 17):
//   1. every schema compiles with ajv 8 (JSON Schema 2020-12) in strict mode;
//   2. asyncapi.yaml parses with the official AsyncAPI parser with no diagnostics at all.
// Prints one JSON line {"schemas": n, "problems": [...]}; exits 1 when there is any problem.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const Ajv2020 = require("ajv/dist/2020").default;
const { Parser, fromFile } = require("@asyncapi/parser");

const contractDir = path.resolve(process.argv[2] || path.join(__dirname, "..", "..", "docs", "contract"));
const schemaDir = path.join(contractDir, "schemas");

function checkSchemas(problems) {
  const files = fs.readdirSync(schemaDir).filter((name) => name.endsWith(".schema.json")).sort();
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  const schemas = files.map((name) => JSON.parse(fs.readFileSync(path.join(schemaDir, name), "utf8")));
  for (const schema of schemas) {
    try {
      ajv.addSchema(schema);
    } catch (error) {
      problems.push(`${schema.$id}: ${error.message}`);
    }
  }
  for (const schema of schemas) {
    try {
      ajv.getSchema(schema.$id) || problems.push(`${schema.$id}: did not compile`);
    } catch (error) {
      problems.push(`${schema.$id}: ${error.message}`);
    }
  }
  return files.length;
}

async function checkAsyncApi(problems) {
  const parser = new Parser();
  const { diagnostics } = await fromFile(parser, path.join(contractDir, "asyncapi.yaml")).parse();
  for (const item of diagnostics) {
    problems.push(`asyncapi.yaml ${item.code} at ${(item.path || []).join(".")}: ${item.message}`);
  }
}

async function main() {
  const problems = [];
  const count = checkSchemas(problems);
  await checkAsyncApi(problems);
  process.stdout.write(`${JSON.stringify({ schemas: count, problems })}\n`);
  process.exitCode = problems.length ? 1 : 0;
}

main().catch((error) => {
  process.stdout.write(`${JSON.stringify({ schemas: 0, problems: [String(error.stack || error)] })}\n`);
  process.exitCode = 2;
});
