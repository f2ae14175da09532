// Validates an OpenAPI document against the official OpenAPI 3.1 JSON schema
// (@seriousme/openapi-schema-validator, from the npm registry), and resolves every $ref.
//
//   node e2e/openapi.mjs openapi.json
//
// Prints "valid OpenAPI 3.1" and exits 0, or prints the schema errors and exits 1.
import { Validator } from "@seriousme/openapi-schema-validator";

const file = process.argv[2];
const validator = new Validator();
const res = await validator.validate(file);
if (!res.valid) {
  console.log(JSON.stringify(res.errors, null, 2));
  process.exit(1);
}
if (validator.version !== "3.1") {
  console.log(`expected OpenAPI 3.1, found ${validator.version}`);
  process.exit(1);
}
// Every $ref must point at something: resolving them throws otherwise.
validator.resolveRefs();
console.log("valid OpenAPI 3.1");
