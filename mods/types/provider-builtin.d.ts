// For mcrun's tsc only: see io-system.d.ts.
declare const device: unknown;
export default device;
