-- The SQL floor of the nested page: the four statements a batched server sends for
-- classes(first: 30) -> students -> grades -> subject, run by pgbench as the runtime role under
-- row-level security, prepared, with the id lists each statement hands the next computed once
-- beforehand (compare.sh passes them with -D).
BEGIN;
SELECT set_config('app.school_id', :school, true);
SELECT id, name FROM classes WHERE school_id = :school::uuid ORDER BY id LIMIT 30;
SELECT id, class_id, first_name, last_name FROM students
 WHERE school_id = :school::uuid AND class_id = ANY (:classes::uuid[]) ORDER BY class_id, id;
SELECT student_id, subject_id, score FROM grades
 WHERE school_id = :school::uuid AND student_id = ANY (:students::uuid[]) ORDER BY student_id, id;
SELECT id, name FROM subjects WHERE school_id = :school::uuid AND id = ANY (:subjects::uuid[]);
COMMIT;
