// quickstart.mjs: the unmodified @libsql/client talking to sqld.
//
//   make run                                  # in one terminal
//   cd tests/interop && npm ci                # once, for the npm packages
//   node examples/quickstart.mjs http://127.0.0.1:8080
//
// Works the same with a ws:// URL. Prints what it reads back.
import { createRequire } from "node:module";
const require = createRequire(new URL("../tests/interop/package.json", import.meta.url));
const { createClient } = require("@libsql/client");

const url = process.argv[2] || "http://127.0.0.1:8080";
const db = createClient({ url });

await db.execute("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
await db.batch(
	[
		{ sql: "INSERT INTO notes (body) VALUES (?)", args: ["hello from @libsql/client"] },
		{ sql: "INSERT INTO notes (body) VALUES (:body)", args: { body: "named arguments work too" } },
	],
	"write",
);

const tx = await db.transaction("write");
await tx.execute({ sql: "UPDATE notes SET body = body || ' (edited)' WHERE id = ?", args: [1] });
await tx.commit();

const rs = await db.execute("SELECT id, body FROM notes ORDER BY id");
for (const row of rs.rows) console.log(`${row.id}: ${row.body}`);
db.close();
