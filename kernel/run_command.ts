// `tscolab run` and `tscolab start`: placeholder until the notebook runner lands (issue 7).
import { NotAvailableError } from "../magics/types";

export async function runCommand(command: string, _argv: string[]): Promise<number> {
  throw new NotAvailableError(`tscolab ${command} is not available yet in this build (the notebook runner has not landed)`);
}
