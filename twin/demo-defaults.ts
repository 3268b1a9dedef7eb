// What `npm start` gives the twin unless told otherwise (twin/demo.ts's flags),
// in one place so benches measure the demo as people run it.

/** Simulated download speed of the board, KB/s (--speed). */
export const DEMO_SPEED_KBS = 300;

/** Seconds a new image has to pass its start-up check (--startup-window; a board's default is 60). */
export const DEMO_STARTUP_WINDOW_S = 20;
