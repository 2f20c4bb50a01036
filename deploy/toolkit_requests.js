#!/usr/bin/env node
// The SCF API requests tencent-component-toolkit would send for serverless.yml, offline.
//
//   node deploy/toolkit_requests.js < inputs.json > requests.json
//
// inputs.json: {"region", "namespace", "functions": [scf inputs], "triggers": [trigger inputs]}
// — the function and trigger inputs as Tencent's multi-scf component hands them to the toolkit
// (deploy/toolkit.py builds them from serverless.yml). The toolkit's own code formats them:
// its SCF entity (create, updateCode, updateConfigure: lib/modules/scf) and its trigger
// manager (bulkCreateTriggers: lib/modules/triggers, timer and http). Its API client is
// replaced by one that records each request and answers like SCF would for an account with
// nothing deployed, so no request leaves the machine. A second trigger pass answers
// ListTriggers with what the first created, which makes the http trigger an UpdateTrigger.
//
// Prints the recorded requests as a JSON list. TOOLKIT_DIR names the toolkit's folder
// (default: deploy/.tools/node_modules/tencent-component-toolkit).
'use strict';

const path = require('path');

const log = console.log;
console.log = console.error; // the toolkit narrates on stdout; keep stdout for the JSON

const root =
  process.env.TOOLKIT_DIR ||
  path.join(__dirname, '.tools', 'node_modules', 'tencent-component-toolkit');
const { TriggerManager } = require(root);
const ScfEntity = require(path.join(root, 'lib', 'modules', 'scf', 'entities', 'scf')).default;

const recorded = [];
let existing = []; // what ListTriggers answers: [{FunctionName, Namespace, ...TriggerInfo}]

// A trigger as ListTriggers reads it back: Enable 1/0, a timer's TriggerDesc as {"cron": …}
function triggerInfo(data) {
  const info = {
    Type: data.Type,
    TriggerName: data.TriggerName,
    TriggerDesc: data.Type === 'timer' ? JSON.stringify({ cron: data.TriggerDesc }) : data.TriggerDesc,
    Enable: data.Enable === 'OPEN' ? 1 : 0,
    Qualifier: data.Qualifier,
  };
  if (data.CustomArgument !== undefined) info.CustomArgument = data.CustomArgument;
  return info;
}

function listed(data) {
  const wanted = {};
  for (const f of data.Filters || []) wanted[f.Name] = f.Values;
  return existing
    .filter((t) => t.FunctionName === data.FunctionName && t.Namespace === data.Namespace)
    .filter((t) => !wanted.Type || wanted.Type.includes(t.Type))
    .filter((t) => !wanted.Qualifier || wanted.Qualifier.includes(t.Qualifier))
    .map(({ FunctionName, Namespace, ...info }) => info);
}

function answer(data) {
  const base = { RequestId: 'offline' };
  switch (data.Action) {
    case 'ListTriggers': {
      const triggers = listed(data);
      return { ...base, Triggers: triggers, TotalCount: triggers.length };
    }
    case 'CreateTrigger':
      return { ...base, TriggerInfo: triggerInfo(data) };
    default:
      return base;
  }
}

const capi = {
  options: { SecretId: 'offline', SecretKey: 'offline' },
  async request(data, options) {
    recorded.push({ host: options && options.host, request: data });
    return { Response: answer(data) };
  },
};

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));

  const scf = new ScfEntity(capi, input.region);
  for (const fn of input.functions) {
    await scf.create(fn);
    const info = { Handler: fn.handler, Namespace: fn.namespace, Timeout: fn.timeout,
                   MemorySize: fn.memorySize };
    await scf.updateCode(fn, info);
    await scf.updateConfigure(fn, info);
  }

  const manager = new TriggerManager({ SecretId: 'offline', SecretKey: 'offline' }, input.region);
  manager.capi = capi;
  await manager.bulkCreateTriggers(JSON.parse(JSON.stringify(input.triggers)), input.namespace);
  existing = recorded
    .filter((r) => r.request.Action === 'CreateTrigger')
    .map((r) => ({
      FunctionName: r.request.FunctionName,
      Namespace: r.request.Namespace,
      ...triggerInfo(r.request),
    }));
  const second = new TriggerManager({ SecretId: 'offline', SecretKey: 'offline' }, input.region);
  second.capi = capi;
  await second.bulkCreateTriggers(JSON.parse(JSON.stringify(input.triggers)), input.namespace);

  log(JSON.stringify(recorded));
}

main().catch((err) => {
  console.error(`toolkit_requests: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
