// A repeatable random source for fuzz-style tests: rand(k) is an integer in
// [0, k). A 32-bit linear congruential step kept exact with Math.imul, read
// from its high bits (the low bits of such a generator repeat with short
// periods, and plain float multiplication loses them altogether).
export function seededRandom(seed: number): (k: number) => number {
  let state = seed >>> 0;
  return (k: number): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 2 ** 32) * k);
  };
}
