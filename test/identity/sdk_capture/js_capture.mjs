import { BedrockRuntimeClient, ConverseCommand } from "@aws-sdk/client-bedrock-runtime";
const RealDate = Date;
const fixed = RealDate.UTC(2026, 10, 26, 7, 12, 55);
globalThis.Date = class extends RealDate {
  constructor(...a) { if (a.length === 0) super(fixed); else super(...a); }
  static now() { return fixed; }
};
const out = [];
for (const proto of ["http/1.1", "h2"]) {
  const handler = {
    metadata: { handlerProtocol: proto },
    async handle(req) {
      out.push({ proto, method: req.method, path: req.path, query: req.query,
                 headers: req.headers, body: typeof req.body === "string" ? req.body : Buffer.from(req.body).toString() });
      throw new Error("captured");
    },
    updateHttpClientConfig() {}, httpHandlerConfigs() { return {}; },
  };
  const client = new BedrockRuntimeClient({
    region: "us-west-2", endpoint: "http://127.0.0.1:18081", requestHandler: handler, maxAttempts: 1,
    credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
  });
  try {
    await client.send(new ConverseCommand({ modelId: "anthropic.claude-3-haiku-20240307-v1:0",
      messages: [{ role: "user", content: [{ text: "Hello from JS" }] }] }));
  } catch (e) { if (e.message !== "captured") throw e; }
}
console.log(JSON.stringify(out, null, 1));
