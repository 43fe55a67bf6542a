// An independent OCPP 1.6J charge point (the npm package ocpp-rpc, strict schema validation) for the tests.
// Usage: node charge_point.js URL ID [PASSWORD] [--reject-profiles]
// Prints one JSON event per line on stdout; reads commands from stdin, one per line:
//   reconnect | malformed | unknown | quit
'use strict';
const { RPCClient } = require('ocpp-rpc');
const readline = require('readline');

const [url, identity, maybePassword, ...flags] = process.argv.slice(2);
const password = maybePassword && !maybePassword.startsWith('--') ? maybePassword : undefined;
const rejectProfiles = flags.includes('--reject-profiles') || maybePassword === '--reject-profiles';

const emit = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const now = () => new Date().toISOString();

let limit = rejectProfiles ? 0 : 32;
let transactionId = null;
let started = false;
let meterTimer = null;
let energy = 0;

function makeClient() {
  const client = new RPCClient({
    endpoint: url,
    identity,
    password,
    protocols: ['ocpp1.6'],
    strictMode: true, // every OCPP 1.6 message sent or received is checked against the schemas
    reconnect: false,
  });
  client.handle('GetConfiguration', () => ({ configurationKey: [{ key: 'MeterValueSampleInterval', readonly: false, value: '60' }] }));
  client.handle('ChangeConfiguration', ({ params }) => {
    emit({ event: 'config', key: params.key, value: params.value });
    return { status: 'Accepted' };
  });
  client.handle('TriggerMessage', ({ params }) => {
    emit({ event: 'trigger', message: params.requestedMessage });
    return { status: 'Accepted' };
  });
  client.handle('SetChargingProfile', ({ params }) => {
    const profile = params.csChargingProfiles;
    if (rejectProfiles) return { status: 'Rejected' };
    if (profile.chargingProfilePurpose === 'TxProfile' && profile.transactionId !== transactionId) return { status: 'Rejected' };
    if (profile.stackLevel > 0) limit = profile.chargingSchedule.chargingSchedulePeriod[0].limit;
    emit({ event: 'profile', purpose: profile.chargingProfilePurpose, stackLevel: profile.stackLevel, limit: profile.chargingSchedule.chargingSchedulePeriod[0].limit, validTo: profile.validTo || null });
    return { status: 'Accepted' };
  });
  client.handle('RemoteStartTransaction', () => {
    emit({ event: 'remote-start' });
    limit = 32;
    setTimeout(startTransaction, 10);
    return { status: 'Accepted' };
  });
  client.handle('RemoteStopTransaction', ({ params }) => {
    emit({ event: 'remote-stop', transactionId: params.transactionId });
    setTimeout(stopTransaction, 10);
    return { status: params.transactionId === transactionId ? 'Accepted' : 'Rejected' };
  });
  return client;
}

let client = makeClient();

async function status(s) {
  await client.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: s });
}

async function startTransaction() {
  if (transactionId !== null) return;
  const answer = await client.call('StartTransaction', { connectorId: 1, idTag: 'NODETAG', meterStart: Math.round(energy), timestamp: now() });
  transactionId = answer.transactionId;
  emit({ event: 'transaction', transactionId, status: answer.idTagInfo.status });
  await status('Charging');
}

async function stopTransaction() {
  if (transactionId === null) return;
  const id = transactionId;
  transactionId = null;
  await client.call('StopTransaction', { transactionId: id, meterStop: Math.round(energy), timestamp: now(), reason: 'Remote' });
  await status('Finishing');
  emit({ event: 'stopped', transactionId: id });
}

async function meter() {
  const amps = transactionId === null ? 0 : Math.min(limit, 16);
  energy += amps * 230 * 0.3 / 3600;
  const sampledValue = [
    { value: amps.toFixed(1), measurand: 'Current.Import', phase: 'L1', unit: 'A' },
    { value: (amps * 230).toFixed(0), measurand: 'Power.Active.Import', unit: 'W' },
    { value: energy.toFixed(1), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
  ];
  const params = { connectorId: 1, meterValue: [{ timestamp: now(), sampledValue }] };
  if (transactionId !== null) params.transactionId = transactionId;
  await client.call('MeterValues', params);
  emit({ event: 'meter', amps });
}

async function connect(boot) {
  try {
    await client.connect();
  } catch (err) {
    emit({ event: 'refused', status: err.statusCode || null, message: String(err.message) });
    return false;
  }
  emit({ event: 'connected' });
  if (boot) {
    const answer = await client.call('BootNotification', { chargePointVendor: 'NodeVendor', chargePointModel: 'RpcBox', firmwareVersion: 'node-1' });
    emit({ event: 'boot', status: answer.status });
    await status('Preparing');
    if (!rejectProfiles) await startTransaction();
  }
  meterTimer = setInterval(() => meter().catch((e) => emit({ event: 'error', message: String(e.message) })), 300);
  return true;
}

async function command(line) {
  if (line === 'quit') {
    clearInterval(meterTimer);
    await client.close({ force: true });
    process.exit(0);
  } else if (line === 'reconnect') {
    clearInterval(meterTimer);
    await client.close({ force: true });
    client = makeClient();
    await connect(false);
    emit({ event: 'reconnected', transactionId });
  } else if (line === 'malformed') {
    // ocpp-rpc answers a CallError with a "-1" id... our answer arrives as a bad message event.
    client.once('badMessage', ({ buffer, error }) => emit({ event: 'bad-message', raw: buffer.toString() }));
    client.once('message', ({ message, outbound }) => { if (!outbound) emit({ event: 'answer', raw: message.toString() }); });
    client.sendRaw('{this is not json');
  } else if (line === 'unknown') {
    // Strict mode refuses to send an unknown action, so it goes out raw; the answer is a CallError.
    const onMessage = ({ message, outbound }) => {
      const text = message.toString();
      if (!outbound && text.includes('coffee-1')) {
        client.off('message', onMessage);
        emit({ event: 'unknown-answer', code: JSON.parse(text)[2] });
      }
    };
    client.on('message', onMessage);
    client.sendRaw('[2,"coffee-1","MakeCoffee",{}]');
  }
}

(async () => {
  const ok = await connect(true);
  if (!ok) process.exit(0);
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => command(line.trim()).catch((e) => emit({ event: 'error', message: String(e.message) })));
})();
