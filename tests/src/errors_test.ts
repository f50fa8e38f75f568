import assert from "node:assert/strict";
import { ApiError, codeForStatus, ERROR_CODES, ERRORS, ProblemSchema, toProblem } from "../../src/errors.ts";

Deno.test("every ERRORS code gives an ApiError with the table's status and a problem body with its title", () => {
  for (const code of ERROR_CODES) {
    const e = new ApiError(code, `Cannot test: code ${code}`);
    assert.equal(e.status, ERRORS[code].status);
    const { problem, headers } = toProblem(e, { instance: "/x", requestId: "r1" });
    assert.equal(problem.title, ERRORS[code].title);
    assert.equal(problem.code, code);
    assert.equal(problem.type, `https://scan-fer.dev/problems/${code.replaceAll("_", "-")}`);
    assert.deepEqual([problem.instance, problem.requestId, problem.detail], ["/x", "r1", e.message]);
    assert.equal(headers["content-type"], "application/problem+json");
    // The body a client receives validates against the documented schema.
    assert.equal(ProblemSchema.safeParse(JSON.parse(JSON.stringify(problem))).success, true);
  }
});

Deno.test("toProblem() hides unknown errors behind 500 internal_error and rounds Retry-After up", () => {
  const { problem } = toProblem(new Error("secret stack detail"));
  assert.deepEqual([problem.status, problem.code], [500, "internal_error"]);
  assert.ok(!problem.detail.includes("secret"));
  const retry = toProblem(new ApiError("not_ready", "Cannot serve", { retryAfterSeconds: 0.2 }));
  assert.equal(retry.headers["retry-after"], "1");
  assert.equal(
    toProblem(new ApiError("rate_limited", "x", { retryAfterSeconds: 2.5 })).headers["retry-after"],
    "3",
  );
});

Deno.test("codeForStatus() picks the table's first code for a status, else a generic one", () => {
  assert.equal(codeForStatus(400), "invalid_request");
  assert.equal(codeForStatus(413), "payload_too_large");
  assert.equal(codeForStatus(503), "not_ready");
  assert.equal(codeForStatus(418), "invalid_request");
  assert.equal(codeForStatus(502), "internal_error");
  assert.equal(ProblemSchema.safeParse({ ...toProblem(new Error()).problem, code: "nope" }).success, false);
});
