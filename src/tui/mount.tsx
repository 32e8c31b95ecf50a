// Mounts the ink app: ink, react, yoga and the views load here, after the first frame is on screen.
import { render } from 'ink';
import { App, type AppProps } from './app.tsx';

export interface Mounted {
  unmount(): void;
  waitUntilExit(): Promise<unknown>;
}

export function mount(props: AppProps, io: { stdin: NodeJS.ReadStream; stdout: NodeJS.WriteStream }): Mounted {
  return render(<App {...props} />, {
    stdout: io.stdout,
    stdin: io.stdin,
    exitOnCtrlC: false,
    patchConsole: true,
    maxFps: 10,
    incrementalRendering: true,
    alternateScreen: true,
    interactive: true,
  });
}
