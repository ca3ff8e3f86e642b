#!/usr/bin/env node
// Squall's local Cosmos DB protocol peer for the contract tests.
//
// Starts @vercel/cosmosdb-server (HTTPS, self-signed certificate) on 127.0.0.1 and prints
// `listening <port>` on stdout once it accepts connections. Port 0 (the default) lets the OS pick a
// free port. The process exits when its stdin closes, so a killed test run leaves no server behind.
//
// The stock server answers a few things differently from Azure Cosmos DB (measured against
// @vercel/cosmosdb-server 1.0.1). This launcher patches exactly those, and nothing else:
//   1. reading a missing item answers 500 (a TypeError)       -> 404 NotFound, as Cosmos DB does;
//   2. a transactional batch is applied op by op, not atomically, and Delete/Replace/Read ops crash
//      without a per-op partition key                         -> all-or-nothing with rollback,
//      the header partition key, and HTTP 207 with the failing op's status + 424 for the rest;
//   3. TTL is stored but never enforced                        -> items whose ttl (or the container's
//      defaultTtl) has elapsed are invisible and removed on next access;
//   5. (measurement addition) SQUALL_COSMOS_REQUEST_LOG=FILE appends one JSON line per request
//      (method, path, query/batch flags, request and response bytes, status) for `squall bench
//      --store cosmos`, and SQUALL_COSMOS_LATENCY_MS=N answers every request N ms later.
//   4. (test-only addition) fault injection: POST /_squall/faults {"status": 429, "count": 3,
//      "retryAfterMs": 10, "pathContains": "/docs"} makes the next N matching requests fail with that
//      status (429 carries x-ms-retry-after-ms); DELETE /_squall/faults clears them.
"use strict";

const lib = (name) => require(`@vercel/cosmosdb-server/lib/${name}`);

const readJson = lib("json").default;
const trueHeader = lib("true-header").default;
const documentOperations = lib("handler/_document-operations");
const getPartitionFromHeader = lib("utils/get-partition-from-header");
const Documents = lib("account/documents").default;

// ---- 1. missing item -> 404 -------------------------------------------------------------------
const NOT_FOUND = { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
const readDocumentModule = lib("handler/read-document");
const stockReadDocument = readDocumentModule.default;
readDocumentModule.default = (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  const header = getPartitionFromHeader.default(req);
  if (collection.read() && header) {
    const partition = getPartitionFromHeader.parsePartitionKey(header, params.docId);
    if (!collection.document(params.docId, partition).read()) {
      res.statusCode = 404;
      return { ...NOT_FOUND };
    }
  }
  return stockReadDocument(account, req, res, params);
};

// ---- 2. atomic transactional batch ------------------------------------------------------------
const OPERATIONS = {
  Create: documentOperations.createOperation,
  Upsert: documentOperations.upsertOperation,
  Read: documentOperations.readOperation,
  Delete: documentOperations.deleteOperation,
  Replace: documentOperations.replaceOperation,
};

function snapshot(documents) {
  return { data: new Map(documents._data), index: new Map(documents._index), rids: documents._ridCount };
}

function restore(documents, saved) {
  documents._data = saved.data;
  documents._index = saved.index;
  documents._ridCount = saved.rids;
}

function applyOperations(collection, operations, partitionHeader) {
  const results = [];
  let failed = false;
  for (const input of operations) {
    const operation = input && OPERATIONS[input.operationType];
    if (failed || !operation) {
      results.push({ statusCode: failed ? 424 : 400, requestCharge: 0 });
      failed = true;
      continue;
    }
    const result = operation(collection, { partitionKey: partitionHeader, ...input });
    failed = result.statusCode >= 400;
    results.push(
      failed
        ? { statusCode: result.statusCode, requestCharge: 0 }
        : { statusCode: result.statusCode, requestCharge: 1, eTag: result.body && result.body._etag,
            resourceBody: result.body },
    );
  }
  if (failed) {
    // Cosmos DB reports the failing operation's status and 424 (failed dependency) for all others.
    return { results: results.map((r) => (r.statusCode >= 400 ? r : { statusCode: 424, requestCharge: 0 })), failed };
  }
  return { results, failed };
}

const batchModule = lib("handler/batch-documents");
const stockBatch = batchModule.default;
batchModule.default = async (account, req, res, params) => {
  if (!trueHeader(req, "x-ms-cosmos-batch-atomic")) {
    return stockBatch(account, req, res, params);
  }
  const operations = await readJson(req);
  // From here on everything runs synchronously: no other request can interleave.
  const collection = account.database(params.dbId).collection(params.collId);
  if (!collection.read()) {
    res.statusCode = 404;
    return { ...NOT_FOUND };
  }
  if (!Array.isArray(operations)) {
    res.statusCode = 400;
    return { code: "BadRequest", message: "Invalid request body" };
  }
  const saved = snapshot(collection.documents);
  const { results, failed } = applyOperations(collection, operations, getPartitionFromHeader.default(req));
  if (failed) {
    restore(collection.documents, saved);
    res.statusCode = 207;
  }
  return results;
};

// ---- 3. TTL -------------------------------------------------------------------------------------
// Each collection keeps the expiry time of the items that can expire (rid -> ms) and the earliest of
// them; an access sweeps only when that time has come, so reads stay O(1) while nothing expires (a
// sweep on every access made the server quadratic in its item count).

function ttlOf(documents, item) {
  const container = documents._parent.read();
  if (!container || container.defaultTtl === undefined || container.defaultTtl === null) {
    return -1;
  }
  const ttl = item.ttl === undefined || item.ttl === null ? container.defaultTtl : item.ttl;
  return ttl === -1 ? -1 : ttl;
}

function expiring(documents) {
  if (!documents.squallExpiring) {
    documents.squallExpiring = new Map(); // rid -> expiry (ms since the epoch)
    documents.squallNextExpiry = Infinity;
  }
  return documents.squallExpiring;
}

function removeExpired(documents) {
  const pending = expiring(documents);
  const now = Date.now();
  if (documents.squallRemoving || now < documents.squallNextExpiry) {
    return; // documents.delete() below reads through _item again
  }
  documents.squallRemoving = true;
  try {
    let next = Infinity;
    for (const [rid, expiresAt] of [...pending.entries()]) {
      if (expiresAt > now) {
        next = Math.min(next, expiresAt);
        continue;
      }
      pending.delete(rid);
      const stored = documents._data.get(rid);
      const item = stored && stored.read();
      if (item) {
        documents.delete(item.id, documents._getPartition(item));
      }
    }
    documents.squallNextExpiry = next;
  } finally {
    documents.squallRemoving = false;
  }
}

const stockSet = Documents.prototype._set;
Documents.prototype._set = function setAndStamp(data) {
  const result = stockSet.call(this, data);
  const pending = expiring(this);
  const ttl = ttlOf(this, data);
  if (ttl === -1) {
    pending.delete(data._rid);
  } else {
    const expiresAt = Date.now() + ttl * 1000;
    pending.set(data._rid, expiresAt);
    this.squallNextExpiry = Math.min(this.squallNextExpiry, expiresAt);
  }
  return result;
};
for (const method of ["_item", "query", "read"]) {
  const stock = Documents.prototype[method];
  Documents.prototype[method] = function withoutExpired(...args) {
    removeExpired(this);
    return stock.apply(this, args);
  };
}

// ---- 4. fault injection -------------------------------------------------------------------------
let faults = [];

function faultFor(req) {
  const fault = faults.find((f) => f.count > 0 && (!f.pathContains || req.url.includes(f.pathContains)));
  if (fault) {
    fault.count -= 1;
  }
  return fault;
}

function answerFault(res, fault) {
  res.statusCode = fault.status;
  res.setHeader("content-type", "application/json");
  if (fault.status === 429) {
    res.setHeader("x-ms-retry-after-ms", String(fault.retryAfterMs || 10));
  }
  res.end(JSON.stringify({ code: `Injected${fault.status}`, message: "fault injected by the Squall test launcher" }));
}

async function controlFaults(req, res) {
  if (req.method === "POST") {
    const fault = await readJson(req);
    faults.push({ status: fault.status, count: fault.count || 1, retryAfterMs: fault.retryAfterMs,
                  pathContains: fault.pathContains });
  } else {
    faults = [];
  }
  res.statusCode = 204;
  res.end();
}

// ---- 5. request log and latency ---------------------------------------------------------------
const fs = require("fs");
const requestLog = process.env.SQUALL_COSMOS_REQUEST_LOG ? fs.openSync(process.env.SQUALL_COSMOS_REQUEST_LOG, "a") : null;
const latencyMs = Number.parseInt(process.env.SQUALL_COSMOS_LATENCY_MS || "0", 10);

function logged(req, res) {
  if (requestLog === null) {
    return;
  }
  let sent = 0;
  const write = res.write.bind(res);
  const end = res.end.bind(res);
  res.write = (chunk, ...rest) => {
    sent += chunk ? Buffer.byteLength(chunk) : 0;
    return write(chunk, ...rest);
  };
  res.end = (chunk, ...rest) => {
    sent += chunk && typeof chunk !== "function" ? Buffer.byteLength(chunk) : 0;
    const line = {
      m: req.method, u: req.url.split("?")[0], s: res.statusCode, req: Number(req.headers["content-length"] || 0),
      res: sent, q: trueHeader(req, "x-ms-documentdb-isquery"), b: trueHeader(req, "x-ms-cosmos-is-batch-request"),
    };
    fs.writeSync(requestLog, JSON.stringify(line) + "\n");
    return end(chunk, ...rest);
  };
}

// ---- start ------------------------------------------------------------------------------------
const { createHttpsServer } = lib("index");
const port = Number.parseInt(process.argv[2] || "0", 10);
const server = createHttpsServer();
const [stockListener] = server.listeners("request");
server.removeAllListeners("request");
server.on("request", (req, res) => {
  if (req.url.startsWith("/_squall/faults")) {
    controlFaults(req, res).catch(() => res.end());
    return;
  }
  logged(req, res);
  const fault = faultFor(req);
  if (fault) {
    answerFault(res, fault);
    return;
  }
  if (latencyMs > 0) {
    setTimeout(() => stockListener(req, res), latencyMs);
    return;
  }
  stockListener(req, res);
});
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
