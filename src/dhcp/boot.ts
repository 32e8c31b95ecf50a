// What a network-booting client is (iPXE, PXE firmware, UEFI HTTP boot, plain DHCP client) and
// which boot file it gets. Pure; used by policy.ts. Architectures: RFC 4578 / IANA "Processor Architecture Types".
import type { DhcpPacket } from './packet.ts';
import { encodeSubOptions, Option } from './options.ts';

export interface BootFiles {
  bios: string; // e.g. undionly.kpxe
  efi64: string; // ipxe.efi or snponly.efi
  arm64?: string;
}

export type ClientKind = 'ipxe' | 'pxe' | 'http' | 'plain';

export interface ClientInfo {
  kind: ClientKind;
  ipxe: boolean;
  arch?: number;
  vendorClass?: string;
}

export const Arch = { BIOS: 0, EFI_IA32: 6, EFI_BC: 7, EFI_X64: 9, EFI_ARM64: 11, HTTP_X64: 16, HTTP_ARM64: 19 } as const;

function archFromVendorClass(vc: string): number | undefined {
  // "PXEClient:Arch:00007:UNDI:003000"
  const i = vc.indexOf(':Arch:');
  if (i < 0) return undefined;
  const n = Number.parseInt(vc.slice(i + 6, i + 11), 10);
  return Number.isFinite(n) ? n : undefined;
}

/** iPXE sends option 77 as the raw bytes "iPXE" (not RFC 3004 format) and option 175. */
export function isIpxe(p: DhcpPacket): boolean {
  const o = p.options;
  if (o.has(Option.IpxeEncap)) return true;
  if (o.equalsText(Option.UserClass, 'iPXE')) return true;
  const uc = o.get(Option.UserClass); // RFC 3004 form: len-prefixed instances
  return !!uc && uc.length === 5 && uc[0] === 4 && uc[1] === 0x69 && uc[2] === 0x50 && uc[3] === 0x58 && uc[4] === 0x45;
}

export function classifyClient(p: DhcpPacket): ClientInfo {
  const o = p.options;
  const vendorClass = o.text(Option.VendorClassId);
  let arch = o.u16s(Option.ClientArch)?.[0];
  if (arch === undefined && vendorClass) arch = archFromVendorClass(vendorClass);
  const ipxe = isIpxe(p);
  let kind: ClientKind = 'plain';
  if (ipxe) kind = 'ipxe';
  else if (o.startsWithText(Option.VendorClassId, 'HTTPClient')) kind = 'http';
  else if (o.startsWithText(Option.VendorClassId, 'PXEClient') || o.has(Option.ClientArch)) kind = 'pxe';
  return { kind, ipxe, arch, vendorClass };
}

export interface BootSpec {
  /** Boot file name or URL (header `file` and option 67). */
  file: string;
  /** Extra options for the reply, in order. */
  options: [number, Uint8Array][];
}

const PXE_CLIENT = new TextEncoder().encode('PXEClient');
const HTTP_CLIENT = new TextEncoder().encode('HTTPClient');
/** Option 43, PXE sub-option 6 (discovery control) = 8: boot from the file in this offer, skip boot server discovery. */
export const PXE_VENDOR_DIRECT = encodeSubOptions([[6, Uint8Array.of(8)]]);
/** Option 175 with iPXE sub-option 176 (no-pxedhcp) = 1: iPXE does not wait for or ask a ProxyDHCP server. */
export const IPXE_NO_PXEDHCP = encodeSubOptions([[Option.IpxeNoPxedhcp, Uint8Array.of(1)]], false);

export function fileForArch(arch: number | undefined, files: BootFiles): string | undefined {
  switch (arch) {
    case undefined:
    case Arch.BIOS:
      return files.bios;
    case Arch.EFI_IA32:
    case Arch.EFI_BC:
    case Arch.EFI_X64:
    case Arch.HTTP_X64:
      return files.efi64;
    case Arch.EFI_ARM64:
    case Arch.HTTP_ARM64:
      return files.arm64 || undefined;
    default:
      return undefined;
  }
}

export interface BootContext {
  httpBase: string; // "http://10.0.0.1:9873"
  bootfiles: BootFiles;
  /** Append "?assetkey=${asset}&uuid=${uuid}" to the iPXE URL (iPXE expands these). Default true. */
  ipxeQuery?: boolean;
}

/**
 * The boot answer for a client, or undefined for a plain DHCP client (or an architecture with no file):
 * those get a lease with no boot options.
 */
export function bootSpec(client: ClientInfo, mac: string, ctx: BootContext, proxy = false): BootSpec | undefined {
  if (client.kind === 'plain') return undefined;
  if (client.kind === 'ipxe') {
    const q = ctx.ipxeQuery === false ? '' : '?assetkey=${asset}&uuid=${uuid}';
    const options: [number, Uint8Array][] = proxy ? [[Option.VendorClassId, PXE_CLIENT]] : [[Option.IpxeEncap, IPXE_NO_PXEDHCP]];
    return { file: `${ctx.httpBase}/ipxe/${mac}${q}`, options };
  }
  const f = fileForArch(client.arch, ctx.bootfiles);
  if (!f) return undefined;
  if (client.kind === 'http') {
    return { file: `${ctx.httpBase}/tftp/${f}`, options: [[Option.VendorClassId, HTTP_CLIENT]] };
  }
  return {
    file: f,
    options: [
      [Option.VendorClassId, PXE_CLIENT],
      [Option.VendorSpecific, PXE_VENDOR_DIRECT],
    ],
  };
}
