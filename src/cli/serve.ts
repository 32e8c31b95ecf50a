// `wulf serve`: run DHCP, TFTP and HTTP provisioning in the foreground until SIGINT/SIGTERM.
import { WulfError } from '../lib/errors.ts';
import type { Noun } from './command.ts';
import { defineCommand } from './define.ts';
import { openStore } from '../store/open.ts';

const port = (v: string | undefined, name: string) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new WulfError(`--${name} "${v}" is not a port number`);
  return n;
};

export const noun: Noun = {
  verbs: [],
  direct: defineCommand({
    name: '',
    summary: 'run DHCP (udp/67), TFTP (udp/69), HTTP (tcp/9873) and HTTPS (tcp/9874) provisioning in the foreground',
    flags: {
      address: { type: 'string', help: 'address to serve on (default: ipaddr in wulf.conf)', arg: 'IP' },
      interface: {
        type: 'string',
        help:
          'provisioning interface(s), comma-separated: DHCP listens and answers there only, IPv6 router advertisements go out there' +
          ' (default dhcp.interface in wulf.conf, else the interface holding the address)',
        arg: 'IF',
      },
      'http-port': { type: 'string', help: 'HTTP port (default warewulf.port, 9873)', arg: 'PORT' },
      'tls-port': {
        type: 'string',
        help: "HTTPS port for the agents' runtime overlay fetches (default warewulf.tls port, 9874; HTTP port + 1 with --http-port)",
        arg: 'PORT',
      },
      'dhcp-port': { type: 'string', help: 'DHCP port (default 67)', arg: 'PORT' },
      'tftp-port': { type: 'string', help: 'TFTP port (default 69)', arg: 'PORT' },
      'dhcp-relay-port': {
        type: 'string',
        help: 'port that relay agents listen on (67; for the loopback simulator)',
        arg: 'PORT',
        hidden: true,
      },
      ra: {
        type: 'boolean',
        help: 'send IPv6 router advertisements on the provisioning interface(s) even when not root (needs CAP_NET_RAW)',
      },
      'no-ra': { type: 'boolean', help: "do not send IPv6 router advertisements (they cut iPXE's ~13 s IPv6 wait)" },
      'no-dhcp': { type: 'boolean', help: 'do not run the DHCP server' },
      'no-tftp': { type: 'boolean', help: 'do not run the TFTP server' },
    },
    async run(ctx, { flags }) {
      const { startServer } = await import('../serve/serve.ts');
      // nodes.conf as always, or PostgreSQL (WULF_STORE / "store:"): then it must answer now, or serve stops in one line
      const store = openStore(ctx.paths, ctx.env);
      if (store.kind === 'postgres') {
        await store.read().catch(async (e) => {
          await store.close();
          throw e;
        });
        ctx.log.info('config', `nodes and profiles from the PostgreSQL store ${store.where}`);
      }
      const srv = await startServer({
        ...(store.kind === 'postgres' ? { store } : {}),
        paths: ctx.paths,
        log: ctx.log,
        controller: ctx.env.WULF_CONTROLLER || undefined,
        address: flags.address,
        interface: flags.interface,
        httpPort: port(flags['http-port'], 'http-port'),
        tlsPort: port(flags['tls-port'], 'tls-port'),
        dhcpPort: port(flags['dhcp-port'], 'dhcp-port'),
        tftpPort: port(flags['tftp-port'], 'tftp-port'),
        dhcpRelayPort: port(flags['dhcp-relay-port'], 'dhcp-relay-port'),
        dhcp: !flags['no-dhcp'],
        tftp: !flags['no-tftp'],
        ...(flags['no-ra'] ? { ra: false } : flags.ra ? { ra: true } : {}),
      }).catch(async (e) => {
        await store.close();
        throw e;
      });
      await new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          ctx.log.info('serve', `${sig}: stopping`);
          srv.stop().then(resolve, resolve);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.on('SIGHUP', () => {
          ctx.log.info('serve', 'SIGHUP: re-reading the configuration');
          srv.reload();
        });
      });
      await store.close();
      return 0;
    },
  }),
};
