// Types for the parts of asciichart (which ships none) that the CLI uses.
declare module "asciichart" {
  const asciichart: {
    plot(series: number[] | number[][], cfg?: { height?: number; colors?: string[]; format?: (x: number, i: number) => string }): string;
    colored(text: string, color: string): string;
    default: string; green: string; yellow: string; magenta: string;
  };
  export default asciichart;
}
