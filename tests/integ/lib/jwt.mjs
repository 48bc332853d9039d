// jwt.mjs: tokens for the authentication tests, minted at test time with
// node's crypto (an Ed25519 key pair per run; PROTOCOL.md §7.2).
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";

export const b64u = (b) => Buffer.from(b).toString("base64url");

/** A fresh Ed25519 key pair: { privateKey, publicKey, pem (SPKI), raw (32 bytes base64url) }. */
export function keypair() {
	const { publicKey, privateKey } = crypto.generateKeyPairSync("ed25519");
	return {
		privateKey,
		publicKey,
		pem: publicKey.export({ type: "spki", format: "pem" }),
		raw: publicKey.export({ format: "jwk" }).x,
	};
}

/**
 * A compact JWT with these claims. opts.alg: "EdDSA" (default, signed with
 * kp), "none" (empty signature), "HS256" (HMAC keyed with the public key PEM:
 * the classic key-confusion attempt), "RS256" (a throwaway RSA key).
 */
export function mint(kp, claims = {}, opts = {}) {
	const alg = opts.alg ?? "EdDSA";
	const header = opts.header ?? { alg, typ: "JWT" };
	const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
	let sig;
	if (alg === "EdDSA") sig = crypto.sign(null, Buffer.from(input), kp.privateKey);
	else if (alg === "none") sig = Buffer.alloc(0);
	else if (alg === "HS256") sig = crypto.createHmac("sha256", kp.pem).update(input).digest();
	else if (alg === "RS256") {
		const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
		sig = crypto.sign("sha256", Buffer.from(input), privateKey);
	} else throw new Error(`unknown alg ${alg}`);
	return `${input}.${b64u(sig)}`;
}

/** The same token with one signature bit flipped. */
export function flipSig(tok) {
	const [h, p, s] = tok.split(".");
	const sig = Buffer.from(s, "base64url");
	sig[10] ^= 1;
	return `${h}.${p}.${b64u(sig)}`;
}

export const now = () => Math.floor(Date.now() / 1000);

/** Writes text into dir/name and returns the path. */
export async function writeFile(dir, name, text) {
	const p = path.join(dir, name);
	await fs.writeFile(p, text);
	return p;
}
