// Refusals a user can act on (bad input, missing screening, a program beyond the ramp-up). The message
// is the one line the CLI prints.
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}
