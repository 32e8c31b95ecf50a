// iPXE script templates are imported as text (`with { type: 'text' }`), embedded by bun build.
declare module '*.ipxe' {
  const text: string;
  export default text;
}
