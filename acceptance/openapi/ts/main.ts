// Drives a live Latchkey server through openapi-fetch, typed by the
// schema.d.ts that openapi-typescript generated from the server's OpenAPI
// document (run.sh): create a project, issue a license in it, and validate
// the license as DevPayr's SDKs do. Exits non-zero on the first failure.
import createClient from "openapi-fetch";
import type { paths, components } from "./schema.js";

// Node's globals, declared here so that the harness needs no @types/node.
declare const process: { env: Record<string, string | undefined>; exit(code: number): never };

type Project = components["schemas"]["Project"];
type License = components["schemas"]["License"];

async function main(): Promise<void> {
  const base = process.env["LATCHKEY_URL"];
  const key = process.env["LATCHKEY_API_KEY"];
  if (!base || !key) throw new Error("set LATCHKEY_URL and LATCHKEY_API_KEY");
  const client = createClient<paths>({ baseUrl: `${base}/api/v1`, headers: { "X-API-KEY": key } });

  const created = await client.POST("/project", {
    params: { header: { "Idempotency-Key": `openapi-typescript-project-${Date.now()}` } },
    body: { name: "openapi-typescript plugin", has_paid: true, meta: { tier: "pro" } },
  });
  if (created.error || created.response.status !== 201) {
    throw new Error(`create project: ${created.response.status} ${JSON.stringify(created.error)}`);
  }
  const project: Project = created.data.data;
  if (project.name !== "openapi-typescript plugin" || !project.has_paid || project.meta["tier"] !== "pro") {
    throw new Error(`create project: got ${JSON.stringify(project)}`);
  }

  const issued = await client.POST("/project/{project}/licenses", {
    params: { path: { project: project.id } },
    body: { title: "Customer A", max_domains: 3 },
  });
  if (issued.error || issued.response.status !== 201) {
    throw new Error(`create license: ${issued.response.status} ${JSON.stringify(issued.error)}`);
  }
  const license: License = issued.data.data;
  if (license.status !== "active" || license.project_id !== project.id) {
    throw new Error(`create license: got ${JSON.stringify(license)}`);
  }

  const checked = await client.POST("/project/has-paid", {
    params: {
      query: { action: "check_project" },
      header: { "X-LICENSE-KEY": license.uuid, "X-Devpayr-Domain": "shop.example.com" },
    },
    headers: { "X-API-KEY": null },
  });
  if (checked.error) {
    const code: components["schemas"]["ErrorCode"] = checked.error.code;
    throw new Error(`validate: ${checked.response.status} ${code}: ${checked.error.message}`);
  }
  if (!checked.data.data.has_paid) throw new Error(`validate: ${JSON.stringify(checked.data)}`);
  console.log("openapi-typescript client: project, license and validation OK");
}

main().catch((err: unknown) => {
  console.error("openapi-typescript client:", err instanceof Error ? err.message : err);
  process.exit(1);
});
