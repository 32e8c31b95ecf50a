// Liquid command templates → argv arrays (never a shell string). Literal template text is split on
// whitespace (quotes around a whole word are dropped); every `{{ value }}` is one opaque piece that is never split or re-parsed, so a user name
// with a space stays one argument. The password is not a template variable: `-E` reads IPMI_PASSWORD,
// and `{{ passwordfile }}` names a 0600 file written only for the run.
import { Liquid, type Template } from 'liquidjs';
import type { Ipmi } from './driver.ts';
import { GO_FILTERS } from '../lib/go-filters.ts';

/** Template command names (Warewulf's .Cmd values, plus BootPxe). */
export const CMDS = {
  on: 'PowerOn',
  off: 'PowerOff',
  cycle: 'PowerCycle',
  reset: 'PowerReset',
  soft: 'PowerSoft',
  status: 'PowerStatus',
  sdr: 'SDRList',
  sensors: 'SensorList',
  console: 'Console',
  pxe: 'BootPxe',
} as const;
export type Cmd = (typeof CMDS)[keyof typeof CMDS];

/** The built-in template (`ipmitool.tmpl`): lanplus with cipher suite 3, or it waits ~10 s per command. */
export const DEFAULT_IPMITOOL_TEMPLATE = `ipmitool
  -I {{ interface | default: "lanplus" }}
  {% if interface == blank or interface == "lanplus" %}-C 3{% endif %}
  -H {{ ipaddr }}
  {% if port != blank %}-p {{ port }}{% endif %}
  {% if username != blank %}-U {{ username }}{% endif %}
  {% if haspassword %}-E{% endif %}
  {% if cmd == "Console" and escapechar != blank %}-e {{ escapechar }}{% endif %}
  {% unless cmd == "Console" %}-N 1 -R 2{% endunless %}
  {% case cmd %}
  {% when "PowerOn" %}chassis power on
  {% when "PowerOff" %}chassis power off
  {% when "PowerCycle" %}chassis power cycle
  {% when "PowerReset" %}chassis power reset
  {% when "PowerSoft" %}chassis power soft
  {% when "PowerStatus" %}chassis power status
  {% when "SDRList" %}sdr list
  {% when "SensorList" %}sensor list
  {% when "Console" %}sol activate
  {% when "BootPxe" %}chassis bootdev pxe
  {% endcase %}
`;

/** Stands for the password file path until the run creates it. */
export const PASSWORD_FILE_SLOT = '\uE002passwordfile\uE002';

const OPEN = '\uE000',
  CLOSE = '\uE001';
const cache = new Map<string, Template[]>();
let values: string[] = [];
// Rendering is synchronous, so one engine and one slot list are safe.
const engine = new Liquid({
  strictFilters: true,
  outputEscape: (v: unknown) => {
    values.push(v === undefined || v === null ? '' : String(v));
    return `${OPEN}${values.length - 1}${CLOSE}`;
  },
});
// the filters templates converted from Go use (wulf overlay convert)
for (const [k, f] of Object.entries(GO_FILTERS)) engine.registerFilter(k, f);

/** Render a template for one node and command into argv. Throws on template errors. */
export function renderArgv(source: string, node: string, ipmi: Ipmi, cmd: Cmd): string[] {
  values = [];
  let parsed = cache.get(source);
  if (!parsed) {
    parsed = engine.parse(source);
    cache.set(source, parsed);
  }
  const text = engine.renderSync(parsed, {
    node,
    cmd,
    ipaddr: ipmi.ipaddr ?? '',
    port: ipmi.port ?? '',
    username: ipmi.username ?? '',
    interface: ipmi.interface ?? '',
    escapechar: ipmi.escapechar ?? '',
    gateway: ipmi.gateway ?? '',
    netmask: ipmi.netmask ?? '',
    tags: ipmi.tags ?? {},
    haspassword: !!ipmi.password,
    passwordfile: PASSWORD_FILE_SLOT,
  }) as string;
  const slots = values;
  const argv: string[] = [];
  for (const word of text.split(/\s+/)) {
    if (!word) continue;
    // Warewulf-style `-U "{{ username }}"`: literal quotes around a word are dropped (no shell here)
    const w = /^(["'])(.*)\1$/s.test(word) ? word.slice(1, -1) : word;
    argv.push(w.replace(new RegExp(`${OPEN}(\\d+)${CLOSE}`, 'g'), (_, i: string) => slots[Number(i)]!));
  }
  return argv;
}
