// PostGraphile 5 as the peer in `compare.sh`: the same database, connected as the runtime role
// `school_app`, so the same row-level security applies. The school comes from the X-School-Id
// header and reaches PostgreSQL as the transaction-local setting app.school_id, as in this service.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";

export default {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: 10 },
    }),
  ],
  grafserv: { port: Number(process.env.PORT), host: "127.0.0.1", watch: false, graphiql: false },
  grafast: {
    context(requestContext, args) {
      const school = requestContext.http?.getHeader("x-school-id");
      const pgSettings = { ...args.contextValue?.pgSettings };
      if (typeof school === "string" && school !== "") pgSettings["app.school_id"] = school;
      return { pgSettings };
    },
  },
};
