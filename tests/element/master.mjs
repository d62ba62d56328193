// The master as Element Web is: matrix-js-sdk with its Rust crypto (the same WASM build of
// matrix-sdk-crypto that Element Web runs), driven by the integration tests.
//
// Protocol: JSON lines. Requests come on stdin as {"id": N, "cmd": NAME, ...args}; each gets
// one answer on stdout, {"id": N, "ok": true, "result": ...} or {"id": N, "ok": false,
// "error": TEXT}. Every live room event the client sees (after its first sync) is also
// written as {"event": {...}}, decrypted where it can be, with Element's shield for it.
// Everything the SDK logs goes to stderr, so stdout carries the protocol only.

import { webcrypto } from "node:crypto";
import { createInterface } from "node:readline";

// Before the SDK loads: its logger writes through console.log/info/debug.
const toStderr = (...parts) => process.stderr.write(parts.map(String).join(" ") + "\n");
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;
console.warn = toStderr;

const sdk = await import("matrix-js-sdk");
const cryptoApi = await import("matrix-js-sdk/lib/crypto-api/index.js");
const { logger } = await import("matrix-js-sdk/lib/logger.js");
const { deriveRecoveryKeyFromPassphrase } = await import("matrix-js-sdk/lib/crypto-api/key-passphrase.js");
logger.setLevel(process.env.CHAVION_ELEMENT_LOG_LEVEL || "warn");

const COLOURS = ["NONE", "GREY", "RED"];
const REASONS = [
    "UNKNOWN",
    "UNVERIFIED_IDENTITY",
    "UNSIGNED_DEVICE",
    "UNKNOWN_DEVICE",
    "AUTHENTICITY_NOT_GUARANTEED",
    "MISMATCHED_SENDER_KEY",
    "SENT_IN_CLEAR",
    "VERIFICATION_VIOLATION",
    "MISMATCHED_SENDER",
];

let client = null;
let password = null;
let live = false;
const seen = new Map(); // event id -> MatrixEvent, for shields asked again later

function write(line) {
    process.stdout.write(JSON.stringify(line) + "\n");
}

function need() {
    if (client === null) throw new Error("not logged in: send 'login' first");
    return client;
}

async function shieldOf(event) {
    if (!event.isEncrypted() || event.isDecryptionFailure()) return null;
    const info = await client.getCrypto().getEncryptionInfoForEvent(event);
    if (info === null) return null;
    return {
        colour: COLOURS[info.shieldColour] ?? String(info.shieldColour),
        reason: info.shieldReason === null ? null : (REASONS[info.shieldReason] ?? String(info.shieldReason)),
    };
}

async function describe(event) {
    const effective = event.getEffectiveEvent();
    return {
        event_id: event.getId(),
        room_id: event.getRoomId(),
        sender: event.getSender(),
        type: effective.type,
        content: effective.content ?? {},
        state_key: effective.state_key ?? null,
        encrypted: event.isEncrypted(),
        failure: event.isDecryptionFailure() ? String(event.decryptionFailureReason ?? "unknown") : null,
        shield: await shieldOf(event),
        push: pushOf(event),
    };
}

// What Element's notifier would do with the event: matrix-js-sdk's push processor run on
// the decrypted event with the account's rules (computed afresh: an encrypted event's
// first answer was for its ciphertext). {notify, sound, highlight, rule} or null.
// No rule matching (a custom event type, most state events) means no actions: silent.
function pushOf(event) {
    if (event.isDecryptionFailure() || event.getSender() === client.getUserId()) return null;
    const details = client.getPushDetailsForEvent(event, true);
    if (!details) return null;
    const actions = details.actions ?? {};
    return {
        notify: Boolean(actions.notify),
        sound: actions.tweaks?.sound ?? null,
        highlight: Boolean(actions.tweaks?.highlight),
        rule: details.rule?.rule_id ?? null,
    };
}

async function onEvent(event) {
    if (!live || !event.getId() || !event.getRoomId()) return;
    seen.set(event.getId(), event);
    if (event.isEncrypted()) await client.decryptEventIfNeeded(event);
    // A late room key fires a second decryption; the answer then is the one that counts.
    write({ event: await describe(event) });
}

function waitForSync(timeoutMs) {
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no first sync in time")), timeoutMs);
        const check = (state) => {
            if (state === "PREPARED" || state === "SYNCING") {
                clearTimeout(timer);
                client.off(sdk.ClientEvent.Sync, check);
                resolve();
            } else if (state === "ERROR") {
                clearTimeout(timer);
                client.off(sdk.ClientEvent.Sync, check);
                reject(new Error("first sync failed"));
            }
        };
        client.on(sdk.ClientEvent.Sync, check);
    });
}

// The id of the event this client sent with `txnId`, once its remote echo has arrived.
function sentWithTxn(c, roomId, txnId) {
    const room = c.getRoom(roomId);
    if (!room) return null;
    const events = [...room.getLiveTimeline().getEvents()];
    for (const thread of room.getThreads()) events.push(...thread.events);
    const found = events.find(
        (e) =>
            (e.getTxnId() === txnId || e.getUnsigned().transaction_id === txnId) &&
            e.getId()?.startsWith("$"),
    );
    return found ? found.getId() : null;
}

// Secret storage's key, derived again from the password it was made from (its salt and
// iterations are in the key's description on the server); null when none was made so.
async function recoveryKeyFromPassword({ keys }) {
    for (const [keyId, description] of Object.entries(keys)) {
        const from = description.passphrase;
        if (from?.salt && from?.iterations && password !== null) {
            return [keyId, await deriveRecoveryKeyFromPassphrase(password, from.salt, from.iterations)];
        }
    }
    return null;
}

// Sends one event (threadId as Element passes it, or null) and returns its id.
async function sendAs(c, roomId, threadId, type, content) {
    const txnId = c.makeTxnId();
    try {
        const response =
            type === "m.room.message"
                ? await c.sendMessage(roomId, threadId, content, txnId)
                : await c.sendEvent(roomId, threadId, type, content, txnId);
        return { event_id: response.event_id };
    } catch (error) {
        // matrix-js-sdk 43 throws "updatePendingEventStatus called on an event which is
        // not a local echo" when /sync brings the remote echo of a thread reply before
        // /send returns (routine behind Synapse workers). The event was sent: find it.
        const sent = String(error).includes("not a local echo") && sentWithTxn(c, roomId, txnId);
        if (sent) {
            toStderr(`send: ${sent} arrived by /sync before /send returned (js-sdk race)`);
            return { event_id: sent };
        }
        throw error;
    }
}

// Attachments as Element Web encrypts them (matrix-encrypt-attachment): AES-CTR with a fresh
// 256-bit key, an iv of 8 random bytes then 8 zero bytes (the counter), the ciphertext's
// SHA-256; base64 unpadded, the key as a JWK.
const subtle = webcrypto.subtle;
const unpadded = (bytes) => Buffer.from(bytes).toString("base64").replace(/=+$/, "");

async function encryptAttachment(plain) {
    const key = await subtle.generateKey({ name: "AES-CTR", length: 256 }, true, ["encrypt", "decrypt"]);
    const iv = new Uint8Array(16);
    webcrypto.getRandomValues(iv.subarray(0, 8));
    const data = new Uint8Array(await subtle.encrypt({ name: "AES-CTR", counter: iv, length: 64 }, key, plain));
    const jwk = await subtle.exportKey("jwk", key);
    const digest = new Uint8Array(await subtle.digest("SHA-256", data));
    return {
        data,
        info: {
            v: "v2",
            key: { alg: "A256CTR", ext: true, k: jwk.k, key_ops: ["encrypt", "decrypt"], kty: "oct" },
            iv: unpadded(iv),
            hashes: { sha256: unpadded(digest) },
        },
    };
}

// Element's check before it plays an attachment: the hash first, then the key.
async function decryptAttachment(data, info) {
    const digest = unpadded(new Uint8Array(await subtle.digest("SHA-256", data)));
    if (digest !== String(info.hashes?.sha256 ?? "").replace(/=+$/, "")) {
        throw new Error("the attachment's SHA-256 does not match its hashes.sha256");
    }
    const key = await subtle.importKey("jwk", info.key, { name: "AES-CTR" }, false, ["decrypt"]);
    const counter = Buffer.from(info.iv, "base64");
    return new Uint8Array(await subtle.decrypt({ name: "AES-CTR", counter, length: 64 }, key, data));
}

const commands = {
    // Logs in with the password, starts syncing, and sets up cross-signing as Element does at
    // first login: bootstrapCrossSigning with a password step for the keys' upload.
    async login({ url, user, password: secret, device_name, cross_signing }) {
        const bare = sdk.createClient({ baseUrl: url });
        const response = await bare.loginRequest({
            type: "m.login.password",
            identifier: { type: "m.id.user", user },
            password: secret,
            initial_device_display_name: device_name ?? "Element (test)",
        });
        password = secret;
        client = sdk.createClient({
            baseUrl: url,
            userId: response.user_id,
            deviceId: response.device_id,
            accessToken: response.access_token,
            cryptoCallbacks: { getSecretStorageKey: recoveryKeyFromPassword },
        });
        // Node has no IndexedDB: the Rust crypto store lives in memory for this process.
        await client.initRustCrypto({ useIndexedDB: false });
        client.on(sdk.ClientEvent.Event, (event) => {
            onEvent(event).catch((error) => toStderr("event handling failed:", error));
        });
        client.on(sdk.MatrixEventEvent.Decrypted, (event) => {
            if (live && seen.has(event.getId())) {
                describe(event).then((d) => write({ event: d }), (e) => toStderr(e));
            }
        });
        const synced = waitForSync(60_000);
        await client.startClient({ initialSyncLimit: 20, threadSupport: true });
        await synced;
        live = true;
        const crypto = client.getCrypto();
        // cross_signing: false leaves the account's cross-signing untouched (a reading test).
        if (cross_signing !== false) await crypto.bootstrapCrossSigning({
            authUploadDeviceSigningKeys: async (makeRequest) => {
                await makeRequest({
                    type: "m.login.password",
                    identifier: { type: "m.id.user", user: response.user_id },
                    password,
                });
            },
        });
        // Then secret storage, as Element's "set up recovery" does, with a key from the
        // password: a later login (another test's client) imports the same identity from it
        // above instead of replacing it, as a new Element device does with the recovery key.
        if (cross_signing !== false) await crypto.bootstrapSecretStorage({
            createSecretStorageKey: () => crypto.createRecoveryKeyFromPassphrase(password),
        });
        return {
            user_id: response.user_id,
            device_id: response.device_id,
            cross_signing_ready: await crypto.isCrossSigningReady(),
        };
    },

    // "all": Element's older default; "only_signed": exclude insecure devices (MSC4153).
    async isolation({ mode }) {
        const crypto = need().getCrypto();
        if (mode === "all") crypto.setDeviceIsolationMode(new cryptoApi.AllDevicesIsolationMode(false));
        else if (mode === "only_signed") crypto.setDeviceIsolationMode(new cryptoApi.OnlySignedDevicesIsolationMode());
        else throw new Error(`unknown isolation mode ${JSON.stringify(mode)}: use "all" or "only_signed"`);
        return { mode };
    },

    // Sends an m.room.message as Element's composer does; a thread reply goes through the
    // thread (Element passes the root as threadId).
    async send({ room_id, content }) {
        const relates = content["m.relates_to"];
        const thread = relates && relates.rel_type === "m.thread" ? relates.event_id : null;
        return await sendAs(need(), room_id, thread, "m.room.message", content);
    },

    // Sends any room event as Element's own code does: client.sendEvent with no thread id
    // (encrypted in an encrypted room, except reactions, which matrix-js-sdk sends in the clear).
    async send_event({ room_id, type, content }) {
        return await sendAs(need(), room_id, null, type, content);
    },

    // A tap on a reaction, as Element's reaction picker and reaction pills send it.
    async react({ room_id, event_id, key }) {
        const content = { "m.relates_to": { rel_type: "m.annotation", event_id, key } };
        return await sendAs(need(), room_id, null, "m.reaction", content);
    },

    // A vote in an MSC3381 poll, as Element's poll body sends it (PollResponseEvent): the
    // unstable type, the chosen answer ids, a reference to the poll's start.
    async poll_vote({ room_id, poll, answers }) {
        const content = {
            "org.matrix.msc3381.poll.response": { answers },
            "m.relates_to": { rel_type: "m.reference", event_id: poll },
        };
        return await sendAs(need(), room_id, null, "org.matrix.msc3381.poll.response", content);
    },

    // A recorded voice message as Element Web sends one (createVoiceMessageContent, then
    // attachMentions): the Ogg/Opus bytes (base64) uploaded, encrypted in an encrypted room.
    async send_voice({ room_id, ogg, duration, waveform }) {
        const c = need();
        const plain = Buffer.from(ogg, "base64");
        const encrypted = await c.getCrypto().isEncryptionEnabledInRoom(room_id);
        let mxc;
        let file;
        if (encrypted) {
            const { data, info } = await encryptAttachment(plain);
            mxc = (await c.uploadContent(data, { includeFilename: false, type: "application/octet-stream" })).content_uri;
            file = { ...info, url: mxc };
        } else {
            mxc = (await c.uploadContent(plain, { name: "Voice message.ogg", type: "audio/ogg" })).content_uri;
        }
        const media = encrypted ? { file } : { url: mxc };
        const content = {
            body: "Voice message",
            msgtype: "m.audio",
            ...media,
            info: { duration, mimetype: "audio/ogg", size: plain.length },
            "org.matrix.msc1767.text": "Voice message",
            "org.matrix.msc1767.file": { ...media, name: "Voice message.ogg", mimetype: "audio/ogg", size: plain.length },
            "org.matrix.msc1767.audio": { duration, waveform },
            "org.matrix.msc3245.voice": {},
            "m.mentions": {},
        };
        return await sendAs(c, room_id, null, "m.room.message", content);
    },

    // An audio or file message's bytes as Element plays them: fetched over authenticated
    // media, decrypted with the event's `file` keys; base64.
    async download({ content }) {
        const c = need();
        const mxc = content.file ? content.file.url : content.url;
        const url = c.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
        const response = await fetch(url, { headers: { Authorization: `Bearer ${c.getAccessToken()}` } });
        if (!response.ok) throw new Error(`download of ${mxc} failed: HTTP ${response.status}`);
        const body = new Uint8Array(await response.arrayBuffer());
        const plain = content.file ? await decryptAttachment(body, content.file) : body;
        return { data: Buffer.from(plain).toString("base64") };
    },

    // Shields asked again now: device and identity information may have arrived since.
    async shields({ event_ids }) {
        need();
        const result = {};
        for (const id of event_ids) {
            const event = seen.get(id);
            result[id] = event ? await shieldOf(event) : null;
        }
        return result;
    },

    // Each device of a user as the crypto layer judges it (keys downloaded fresh).
    async devices({ user_id }) {
        const crypto = need().getCrypto();
        const map = await crypto.getUserDeviceInfo([user_id], true);
        const out = [];
        for (const device of (map.get(user_id) ?? new Map()).values()) {
            const status = await crypto.getDeviceVerificationStatus(user_id, device.deviceId);
            out.push({
                device_id: device.deviceId,
                signed_by_owner: Boolean(status?.signedByOwner),
                cross_signing_verified: Boolean(status?.crossSigningVerified),
            });
        }
        return out;
    },

    // What Element's thread panel shows for a thread root: the events in its timeline.
    async thread({ room_id, root }) {
        const room = need().getRoom(room_id);
        const thread = room?.getThread(root);
        return thread ? thread.events.map((event) => event.getId()) : null;
    },

    // Logs out (the device is deleted, as when Element signs out), then exits.
    async stop() {
        if (client !== null) {
            client.stopClient();
            await client.logout(true);
        }
        setTimeout(() => process.exit(0), 50);
        return {};
    },
};

const lines = createInterface({ input: process.stdin });
lines.on("line", (line) => {
    if (!line.trim()) return;
    let request;
    try {
        request = JSON.parse(line);
    } catch (error) {
        write({ id: null, ok: false, error: `not JSON: ${error.message}` });
        return;
    }
    const handler = commands[request.cmd];
    if (!handler) {
        write({ id: request.id, ok: false, error: `unknown command ${JSON.stringify(request.cmd)}` });
        return;
    }
    handler(request).then(
        (result) => write({ id: request.id, ok: true, result }),
        (error) => write({ id: request.id, ok: false, error: String(error?.stack ?? error) }),
    );
});
lines.on("close", () => {
    if (client !== null) client.stopClient();
    process.exit(0);
});
write({ ready: true, node: process.version });
